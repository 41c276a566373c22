// SPDX-License-Identifier: GPL-2.0
/*
 * test_parse.c - vdattach's pure helpers of the layer job commands
 * (userspace/vdattach_parse.c): -r RATE, the relative backing name a
 * commit records, and the wording of job states and progress.
 */
#include <errno.h>
#include <stdlib.h>

#include "vt.h"
#include "vdattach_parse.h"

static const struct {
	const char *arg;
	int ret;
	uint64_t rate;
} rate_cases[] = {
	{ "1", 0, 1 },
	{ "65536", 0, 65536 },
	{ "50M", 0, 50ULL << 20 },
	{ "50m", 0, 50ULL << 20 },
	{ "1k", 0, 1024 },
	{ "1K", 0, 1024 },
	{ "2G", 0, 2ULL << 30 },
	{ "3t", 0, 3ULL << 40 },
	{ "007", 0, 7 },
	{ "18446744073709551615", 0, UINT64_MAX },
	{ "16777215T", 0, 16777215ULL << 40 },
	{ "0", -EINVAL, 0 },
	{ "0M", -EINVAL, 0 },
	{ "", -EINVAL, 0 },
	{ "M", -EINVAL, 0 },
	{ "-1", -EINVAL, 0 },
	{ "+1", -EINVAL, 0 },
	{ " 1", -EINVAL, 0 },
	{ "1 ", -EINVAL, 0 },
	{ "1.5M", -EINVAL, 0 },
	{ "1MB", -EINVAL, 0 },
	{ "1MM", -EINVAL, 0 },
	{ "1P", -EINVAL, 0 },
	{ "1b", -EINVAL, 0 },
	{ "0x10", -EINVAL, 0 },
	{ "18446744073709551616", -ERANGE, 0 },
	{ "99999999999999999999999", -ERANGE, 0 },
	{ "16777216T", -ERANGE, 0 },
	{ "17179869184G", -ERANGE, 0 },
};

VT_TEST(parse_rate_table)
{
	size_t i;

	for (i = 0; i < VT_ARRAY_SIZE(rate_cases); i++) {
		uint64_t rate = 12345;
		int ret = vda_parse_rate(rate_cases[i].arg, &rate);

		VT_EXPECT_MSG(ret == rate_cases[i].ret, "'%s': ret %d", rate_cases[i].arg, ret);
		if (!rate_cases[i].ret)
			VT_EXPECT_MSG(rate == rate_cases[i].rate, "'%s': %" PRIu64,
				      rate_cases[i].arg, rate);
		else
			VT_EXPECT_MSG(rate == 12345, "'%s': rate written on failure",
				      rate_cases[i].arg);
	}
}

static const struct {
	const char *from, *to, *want;
} rel_cases[] = {
	{ "/a/b", "/a/c/d.qcow2", "../c/d.qcow2" },
	{ "/a", "/a/x.raw", "x.raw" },
	{ "/a", "/a/b/c/x.raw", "b/c/x.raw" },
	{ "/", "/x/y.raw", "x/y.raw" },
	{ "/a/b/c", "/x.raw", "../../../x.raw" },
	{ "/a/b", "/a/bc/x", "../bc/x" },	/* components, not prefixes */
	{ "/ab", "/a/x", "../a/x" },
	{ "/a//b/", "/a/b/x", "x" },		/* repeated and trailing slashes */
	{ "/a/b", "/a", ".." },
	{ "/a/b", "/a/b", "." },
	{ "/images/users", "/images/gold/base_os_gold.vmdk", "../gold/base_os_gold.vmdk" },
};

VT_TEST(parse_relative_path)
{
	size_t i;
	char *r;

	for (i = 0; i < VT_ARRAY_SIZE(rel_cases); i++) {
		r = vda_relative_path(rel_cases[i].from, rel_cases[i].to);
		VT_ASSERT(r);
		VT_EXPECT_MSG(!strcmp(r, rel_cases[i].want), "%s -> %s: \"%s\", want \"%s\"",
			      rel_cases[i].from, rel_cases[i].to, r, rel_cases[i].want);
		free(r);
	}
	VT_EXPECT(!vda_relative_path("a", "/x"));
	VT_EXPECT(!vda_relative_path("/a", "x"));
}

VT_TEST(parse_protocol_names)
{
	VT_EXPECT(vda_name_has_protocol("nbd:host:10809"));
	VT_EXPECT(vda_name_has_protocol("json:{}"));
	VT_EXPECT(vda_name_has_protocol("file:x.raw"));
	VT_EXPECT(!vda_name_has_protocol("x.raw"));
	VT_EXPECT(!vda_name_has_protocol("./a:b.raw"));
	VT_EXPECT(!vda_name_has_protocol("/srv/a:b.raw"));
	VT_EXPECT(!vda_name_has_protocol(""));
}

VT_TEST(parse_job_names)
{
	VT_EXPECT_STREQ(vda_job_type_name(VDISK_JOB_COMMIT), "commit");
	VT_EXPECT_STREQ(vda_job_type_name(VDISK_JOB_REBASE), "rebase");
	VT_EXPECT_STREQ(vda_job_type_name(VDISK_JOB_NONE), "none");
	VT_EXPECT_STREQ(vda_job_type_name(99), "unknown");
	VT_EXPECT_STREQ(vda_job_state_name(VDISK_JOB_IDLE), "idle");
	VT_EXPECT_STREQ(vda_job_state_name(VDISK_JOB_RUNNING), "running");
	VT_EXPECT_STREQ(vda_job_state_name(VDISK_JOB_DONE), "done");
	VT_EXPECT_STREQ(vda_job_state_name(VDISK_JOB_FAILED), "failed");
	VT_EXPECT_STREQ(vda_job_state_name(VDISK_JOB_CANCELLED), "cancelled");
	VT_EXPECT_STREQ(vda_job_state_name(5), "unknown");
	VT_EXPECT_STREQ(vda_job_phase_name(VDISK_JOB_PHASE_NONE), "none");
	VT_EXPECT_STREQ(vda_job_phase_name(VDISK_JOB_PHASE_COPY), "copy");
	VT_EXPECT_STREQ(vda_job_phase_name(VDISK_JOB_PHASE_SWITCH), "switch");
	VT_EXPECT_STREQ(vda_job_phase_name(VDISK_JOB_PHASE_DEDUP), "dedup");
	VT_EXPECT_STREQ(vda_job_phase_name(VDISK_JOB_PHASE_EMPTY), "empty");
	VT_EXPECT_STREQ(vda_job_phase_name(5), "unknown");
}

VT_TEST(parse_job_percent_rate)
{
	struct vdisk_job_status s = { .state = VDISK_JOB_RUNNING };

	VT_EXPECT(vda_job_percent(&s) == 0.0);		/* nothing to walk yet */
	VT_EXPECT(vda_job_mib_per_s(&s) == 0.0);	/* no time yet */
	s.bytes_total = 4 << 20;
	s.bytes_done = 1 << 20;
	s.elapsed_ns = 500000000;
	VT_EXPECT(vda_job_percent(&s) == 25.0);
	VT_EXPECT(vda_job_mib_per_s(&s) == 2.0);
	s.bytes_done = 5 << 20;				/* never past 100 */
	VT_EXPECT(vda_job_percent(&s) == 100.0);
	s.state = VDISK_JOB_DONE;
	s.bytes_total = 0;
	VT_EXPECT(vda_job_percent(&s) == 100.0);
}

VT_TEST(parse_short_size)
{
	char buf[16];

	vda_short_size(0, buf, sizeof(buf));
	VT_EXPECT_STREQ(buf, "0B");
	vda_short_size(512, buf, sizeof(buf));
	VT_EXPECT_STREQ(buf, "512B");
	vda_short_size(1024, buf, sizeof(buf));
	VT_EXPECT_STREQ(buf, "1K");
	vda_short_size(1536ULL << 20, buf, sizeof(buf));
	VT_EXPECT_STREQ(buf, "1.5G");
	vda_short_size(50ULL << 20, buf, sizeof(buf));
	VT_EXPECT_STREQ(buf, "50M");
	vda_short_size(UINT64_MAX, buf, sizeof(buf));
	VT_EXPECT_STREQ(buf, "16E");
}

VT_TEST(parse_job_lines)
{
	struct vdisk_job_status s = {
		.type = VDISK_JOB_COMMIT, .state = VDISK_JOB_DONE,
		.bytes_total = 12582912, .bytes_done = 12582912, .bytes_copied = 12582912,
		.elapsed_ns = 3210000000ULL,
	};
	char line[256];

	vda_job_summary("commit", "/dev/vd0", &s, line, sizeof(line));
	VT_EXPECT_STREQ(line, "commit /dev/vd0: done: 12582912 bytes copied, 0 equal, "
			"0 dropped in 3.21 s (3.7 MiB/s)");
	s.state = VDISK_JOB_RUNNING;
	s.phase = VDISK_JOB_PHASE_COPY;
	s.bytes_done = s.bytes_total / 2;
	s.bytes_equal = 1 << 20;
	vda_job_progress_line(&s, line, sizeof(line));
	VT_EXPECT_CONTAINS(line, " 50.0% [##########          ]");
	VT_EXPECT_CONTAINS(line, "copied 12M equal 1M dropped 0B");
	VT_EXPECT(!strstr(line, "copy"));
	VT_EXPECT(line[strlen(line) - 1] == ' ');	/* padded over a longer line */
	s.phase = VDISK_JOB_PHASE_DEDUP;
	vda_job_progress_line(&s, line, sizeof(line));
	VT_EXPECT_CONTAINS(line, "dropped 0B  dedup");
	vda_job_progress_line(&s, line, 10);		/* cut, terminated */
	VT_EXPECT_EQ(strlen(line), 9);
}
