// SPDX-License-Identifier: GPL-2.0-only
/*
 * Fuzz the strict state-file loader.  Invariants on top of "no crash, no
 * leak": a refusal comes with a message naming the input; an accepted
 * state is well-formed (CPUs ascending, MSRs ascending and unique, masks
 * as in its own allowlist text) and survives a write/parse round trip
 * unchanged.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "msrsave.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_well_formed(const struct msr_state *st)
{
	for (size_t c = 1; c < st->ncpus; c++)
		if (st->cpus[c] <= st->cpus[c - 1])
			abort();
	for (size_t i = 1; i < st->nmsrs; i++)
		if (st->msrs[i].msr <= st->msrs[i - 1].msr)
			abort();
	for (size_t i = 0; i < st->nmsrs; i++)
		for (size_t c = 0; c < st->ncpus; c++)
			if (st->msrs[i].errs[c] > 0 ||
			    (st->msrs[i].errs[c] && st->msrs[i].values[c]))
				abort();
	if (strlen(st->allowlist_sha256) != 64)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct msr_state *st = NULL, *again = NULL;
	struct json_object *j = NULL, *k = NULL;
	struct msr_err e = {0};
	const char *text;

	if (msr_state_parse((const char *)data, size, "fuzz.json", &st, &e) <
	    0) {
		if (st || strncmp(e.msg, "fuzz.json: ", 11))
			abort();
		return 0;
	}
	check_well_formed(st);
	if (msr_state_to_json(st, &j, &e) < 0)
		abort();
	text = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY);
	if (msr_state_parse(text, strlen(text), "again", &again, &e) < 0) {
		fprintf(stderr, "round trip refused: %s\n", e.msg);
		abort();
	}
	if (msr_state_to_json(again, &k, &e) < 0 || !json_object_equal(j, k))
		abort();
	json_object_put(j);
	json_object_put(k);
	msr_state_free(again);
	msr_state_free(st);
	return 0;
}
