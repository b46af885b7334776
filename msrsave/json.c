// SPDX-License-Identifier: GPL-2.0-only
/*
 * Strict JSON files: one parser and one writer for every JSON document
 * libmsrsave and its users keep on disk (state files, the plugin's job
 * records).  json-c alone accepts trailing text and silently keeps the
 * last of two equal keys; a file that is truncated, padded or edited
 * into ambiguity is refused here with the file and byte named.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "msrsave_int.h"

void msr_excerpt(const char *s, size_t len, char out[41])
{
	size_t n = len < 40 ? len : 40;

	for (size_t i = 0; i < n; i++)
		out[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	out[n] = 0;
}

/*
 * json-c keeps the last of two equal keys in an object without a word, so
 * a hand-edited file with two "values" would load one silently.  Scan the
 * (already valid) text for a key repeated within one object.  Keys are
 * compared as written; one spelled with escapes is not caught.
 */
struct key_span {
	size_t at, len;
};

static int check_duplicate_keys(const char *text, size_t len, const char *name,
				struct msr_err *err)
{
	struct key_span *keys = NULL;
	size_t *obj_first = NULL; /* per open container: first key, or -1 */
	size_t nkeys = 0, kcap = 0, depth = 0, dcap = 0;
	int rc = 0;

	for (size_t i = 0; i < len && rc == 0; i++) {
		char ch = text[i];

		if (ch == '{' || ch == '[') {
			if (depth == dcap) {
				size_t ncap = dcap ? 2 * dcap : 16;
				size_t *bigger =
				    realloc(obj_first, ncap * sizeof(*bigger));

				if (!bigger) {
					rc = -ENOMEM;
					break;
				}
				obj_first = bigger;
				dcap = ncap;
			}
			obj_first[depth++] = ch == '{' ? nkeys : SIZE_MAX;
		} else if (ch == '}' || ch == ']') {
			if (depth && obj_first[depth - 1] != SIZE_MAX)
				nkeys = obj_first[depth - 1];
			if (depth)
				depth--;
		} else if (ch == '"') {
			size_t start = ++i, j;

			while (i < len && text[i] != '"')
				i += text[i] == '\\' ? 2 : 1;
			j = i + 1;
			while (j < len && (text[j] == ' ' || text[j] == '\t' ||
					   text[j] == '\n' || text[j] == '\r'))
				j++;
			/* A string followed by ':' inside an object is a key.
			 */
			if (j >= len || text[j] != ':' || !depth ||
			    obj_first[depth - 1] == SIZE_MAX)
				continue;
			for (size_t k = obj_first[depth - 1]; k < nkeys; k++) {
				if (keys[k].len == i - start &&
				    !memcmp(text + keys[k].at, text + start,
					    i - start)) {
					char shown[41];

					msr_excerpt(text + start, i - start,
						    shown);
					rc =
					    msr_err_set(err, -EBADMSG,
							"%s: duplicate key "
							"'%s' at byte %zu",
							name, shown, start - 1);
					break;
				}
			}
			if (nkeys == kcap) {
				size_t ncap = kcap ? 2 * kcap : 64;
				struct key_span *bigger =
				    realloc(keys, ncap * sizeof(*bigger));

				if (!bigger) {
					rc = -ENOMEM;
					break;
				}
				keys = bigger;
				kcap = ncap;
			}
			keys[nkeys].at = start;
			keys[nkeys++].len = i - start;
		}
	}
	if (rc == -ENOMEM)
		msr_err_set(err, rc, "%s: out of memory", name);
	free(keys);
	free(obj_first);
	return rc;
}

int msr_json_parse(const char *text, size_t len, const char *name,
		   struct json_object **out, struct msr_err *err)
{
	struct json_tokener *tok;
	struct json_object *root;
	size_t end;
	int rc;

	*out = NULL;
	if (len > INT32_MAX)
		return msr_err_set(err, -EFBIG, "%s: too large", name);
	for (size_t i = 0; i < len; i++)
		if (text[i] == 0)
			return msr_err_set(err, -EBADMSG,
					   "%s: NUL byte at offset %zu: not a "
					   "JSON text",
					   name, i);
	tok = json_tokener_new_ex(64);
	if (!tok)
		return msr_err_set(err, -ENOMEM, "%s: out of memory", name);
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	root = json_tokener_parse_ex(tok, text, (int)len);
	if (!root) {
		enum json_tokener_error je = json_tokener_get_error(tok);

		if (je == json_tokener_continue || je == json_tokener_success)
			rc = msr_err_set(err, -EBADMSG,
					 "%s: truncated: the JSON text ends "
					 "early (%zu bytes)",
					 name, len);
		else
			rc = msr_err_set(err, -EBADMSG,
					 "%s: not valid JSON at byte %zu: %s",
					 name, json_tokener_get_parse_end(tok),
					 json_tokener_error_desc(je));
		json_tokener_free(tok);
		return rc;
	}
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	for (size_t i = end; i < len; i++) {
		if (text[i] != ' ' && text[i] != '\n' && text[i] != '\t' &&
		    text[i] != '\r') {
			json_object_put(root);
			return msr_err_set(err, -EBADMSG,
					   "%s: trailing data after the JSON "
					   "text at byte %zu",
					   name, i);
		}
	}
	rc = check_duplicate_keys(text, len, name, err);
	if (rc < 0) {
		json_object_put(root);
		return rc;
	}
	*out = root;
	return 0;
}

int msr_json_read(const char *path, size_t max, unsigned int flags,
		  struct json_object **out, struct msr_err *err)
{
	char *text;
	size_t len;
	int rc;

	*out = NULL;
	rc = msr_file_read(path, max, flags, &text, &len, err);
	if (rc < 0)
		return rc;
	if (!len)
		rc = msr_err_set(err, -EBADMSG,
				 "%s: empty file (truncated: no JSON text)",
				 path);
	else
		rc = msr_json_parse(text, len, path, out, err);
	free(text);
	return rc;
}

int msr_json_write(const char *path, struct json_object *o, unsigned int mode,
		   unsigned int flags, struct msr_err *err)
{
	const char *text = json_object_to_json_string_ext(
	    o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
		   JSON_C_TO_STRING_NOSLASHESCAPE);
	size_t len = text ? strlen(text) : 0;
	char *copy = text ? malloc(len + 2) : NULL;
	int rc;

	if (!copy)
		return msr_err_set(err, -ENOMEM, "%s: out of memory", path);
	memcpy(copy, text, len);
	copy[len++] = '\n';
	rc = msr_file_write(path, copy, len, mode, flags, err);
	free(copy);
	return rc;
}
