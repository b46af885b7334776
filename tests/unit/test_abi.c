// SPDX-License-Identifier: GPL-2.0-only
/* Pins the batch ABI of msr_safe.h: a change here breaks deployed clients. */
#include <check.h>
#include <stddef.h>
#include <stdlib.h>

#include "msr_safe.h"

_Static_assert(sizeof(struct msr_batch_op) == 32, "msr_batch_op is 32 bytes");
_Static_assert(sizeof(struct msr_batch_array) == 16,
	       "msr_batch_array is 16 bytes");
_Static_assert(X86_IOC_MSR_BATCH == 0xC01063A2, "ioctl number");

/* The layout old clients (numops, padding, ops) were compiled against. */
struct old_batch_array {
	__u32 numops;
	struct msr_batch_op *ops;
};
_Static_assert(sizeof(struct old_batch_array) == sizeof(struct msr_batch_array),
	       "old two-field layout has the same size");
_Static_assert(offsetof(struct old_batch_array, ops) ==
		   offsetof(struct msr_batch_array, ops),
	       "ops sits where old clients put it");

START_TEST(op_field_offsets)
{
	ck_assert_uint_eq(offsetof(struct msr_batch_op, cpu), 0);
	ck_assert_uint_eq(offsetof(struct msr_batch_op, isrdmsr), 2);
	ck_assert_uint_eq(offsetof(struct msr_batch_op, err), 4);
	ck_assert_uint_eq(offsetof(struct msr_batch_op, msr), 8);
	ck_assert_uint_eq(offsetof(struct msr_batch_op, msrdata), 16);
	ck_assert_uint_eq(offsetof(struct msr_batch_op, wmask), 24);
}
END_TEST

START_TEST(array_field_offsets)
{
	ck_assert_uint_eq(offsetof(struct msr_batch_array, numops), 0);
	ck_assert_uint_eq(offsetof(struct msr_batch_array, version), 4);
	ck_assert_uint_eq(offsetof(struct msr_batch_array, ops), 8);
}
END_TEST

START_TEST(version_encoding)
{
	ck_assert_uint_eq(MSR_SAFE_VERSION_u32, 0x010900);
	ck_assert_uint_eq(MSR_SAFE_VERSION_MAJOR_OF(MSR_SAFE_VERSION_u32), 1);
	ck_assert_str_eq(MSR_SAFE_VERSION_STR, "1.9.0");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("abi");
	TCase *tc = tcase_create("layout");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, op_field_offsets);
	tcase_add_test(tc, array_field_offsets);
	tcase_add_test(tc, version_encoding);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
