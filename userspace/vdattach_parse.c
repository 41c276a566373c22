// SPDX-License-Identifier: GPL-2.0
/*
 * vdattach_parse.c - the pure parts of commit, rebase and job: the -r RATE
 * argument, the relative backing name a commit writes, and how a job's
 * state and progress are worded.  No file, no global, no message printed:
 * userspace/tests runs them directly.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vdattach_parse.h"

/**
 * vda_parse_rate() - "-r RATE": bytes per second
 * @arg:  decimal digits with an optional K, M, G or T suffix (1024-based,
 *        either case), like qemu-img's sizes: "50M", "1g", "65536"
 * @rate: out: bytes per second, at least 1
 *
 * Return: 0, -EINVAL for anything else (empty, sign, blanks, fraction,
 * unknown or repeated suffix, zero), -ERANGE past 2^64 - 1.
 */
int vda_parse_rate(const char *arg, uint64_t *rate)
{
	static const char suffixes[] = "KMGT";
	const char *s = arg, *sfx;
	uint64_t v = 0;
	unsigned int shift = 0;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return -ERANGE;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (*s) {
		char c = *s >= 'a' && *s <= 'z' ? *s - 'a' + 'A' : *s;

		sfx = strchr(suffixes, c);
		if (!sfx || s[1])
			return -EINVAL;
		shift = 10 * (unsigned int)(sfx - suffixes + 1);
	}
	if (!v)
		return -EINVAL;
	if (shift && v > UINT64_MAX >> shift)
		return -ERANGE;
	*rate = v << shift;
	return 0;
}

/* The next '/'-separated component of *@p (empty ones skipped), or NULL. */
static const char *vda_next_component(const char **p, size_t *len)
{
	const char *s = *p;

	while (*s == '/')
		s++;
	if (!*s)
		return NULL;
	*len = strcspn(s, "/");
	*p = s + *len;
	return s;
}

/**
 * vda_relative_path() - @to written relative to the directory @from_dir
 * @from_dir: an absolute directory without "." or ".." components (as
 *            realpath() returns it)
 * @to:       an absolute path of the same kind
 *
 * "/a/b", "/a/c/d.qcow2" gives "../c/d.qcow2"; "/a", "/a/x" gives "x".
 * Return: the path, allocated; NULL if out of memory or either argument is
 * not absolute.
 */
char *vda_relative_path(const char *from_dir, const char *to)
{
	const char *f = from_dir, *t = to, *fc, *tc, *f_rest, *t_rest;
	size_t flen = 0, tlen = 0, ups = 0, n;
	char *out, *o;

	if (from_dir[0] != '/' || to[0] != '/')
		return NULL;
	/* skip the components both start with */
	for (;;) {
		f_rest = f;
		t_rest = t;
		fc = vda_next_component(&f, &flen);
		tc = vda_next_component(&t, &tlen);
		if (!fc || !tc || flen != tlen || memcmp(fc, tc, flen))
			break;
	}
	f = f_rest;
	while (vda_next_component(&f, &flen))
		ups++;
	while (*t_rest == '/')
		t_rest++;
	n = ups * 3 + strlen(t_rest) + 1;
	out = malloc(n < 2 ? 2 : n);
	if (!out)
		return NULL;
	o = out;
	while (ups--) {
		memcpy(o, "../", 3);
		o += 3;
	}
	strcpy(o, t_rest);
	/* "/a/b" relative to "/a/b" itself: "." is no file name, but say so */
	if (!out[0])
		strcpy(out, ".");
	/* "../" without a name after it: drop the trailing slash */
	n = strlen(out);
	if (n > 1 && out[n - 1] == '/')
		out[n - 1] = '\0';
	return out;
}

/*
 * QEMU's path_has_protocol(): a ':' before the first '/' ("nbd:host",
 * "json:{...}") names no local file.
 */
bool vda_name_has_protocol(const char *name)
{
	return name[strcspn(name, ":/")] == ':';
}

const char *vda_job_type_name(uint32_t type)
{
	switch (type) {
	case VDISK_JOB_NONE:
		return "none";
	case VDISK_JOB_COMMIT:
		return "commit";
	case VDISK_JOB_REBASE:
		return "rebase";
	default:
		return "unknown";
	}
}

const char *vda_job_state_name(uint32_t state)
{
	switch (state) {
	case VDISK_JOB_IDLE:
		return "idle";
	case VDISK_JOB_RUNNING:
		return "running";
	case VDISK_JOB_DONE:
		return "done";
	case VDISK_JOB_FAILED:
		return "failed";
	case VDISK_JOB_CANCELLED:
		return "cancelled";
	default:
		return "unknown";
	}
}

const char *vda_job_phase_name(uint32_t phase)
{
	switch (phase) {
	case VDISK_JOB_PHASE_NONE:
		return "none";
	case VDISK_JOB_PHASE_COPY:
		return "copy";
	case VDISK_JOB_PHASE_SWITCH:
		return "switch";
	case VDISK_JOB_PHASE_DEDUP:
		return "dedup";
	case VDISK_JOB_PHASE_EMPTY:
		return "empty";
	default:
		return "unknown";
	}
}

/* bytes_done of bytes_total, 0..100; a finished job is 100. */
double vda_job_percent(const struct vdisk_job_status *s)
{
	double p;

	if (s->state == VDISK_JOB_DONE)
		return 100.0;
	if (!s->bytes_total)
		return 0.0;
	p = 100.0 * (double)s->bytes_done / (double)s->bytes_total;
	return p > 100.0 ? 100.0 : p;
}

/* The walk's speed: bytes_done (what the rate limit holds) per second. */
double vda_job_mib_per_s(const struct vdisk_job_status *s)
{
	if (!s->elapsed_ns)
		return 0.0;
	return (double)s->bytes_done / ((double)s->elapsed_ns / 1e9) / (1024.0 * 1024.0);
}

/* lsblk style, as list prints sizes: 0B, 512B, 1K, 1.5G. */
void vda_short_size(uint64_t bytes, char *buf, size_t size)
{
	static const char units[] = "BKMGTPE";
	unsigned int u = 0;
	double v = (double)bytes;

	while (v >= 1024 && u < sizeof(units) - 2) {
		v /= 1024;
		u++;
	}
	if (u == 0 || v >= 10 || (uint64_t)(v * 10 + 0.5) % 10 == 0)
		snprintf(buf, size, "%.0f%c", v, units[u]);
	else
		snprintf(buf, size, "%.1f%c", v, units[u]);
}

#define VDA_BAR_WIDTH	20

/*
 * One line of the -p progress bar, without the leading '\r', padded so
 * that it covers a longer line drawn before it:
 * " 42.3% [########            ]  38.5 MiB/s  copied 1.1G equal 0B dropped 0B"
 * and the phase when it is not the copy.
 */
void vda_job_progress_line(const struct vdisk_job_status *s, char *buf, size_t size)
{
	char bar[VDA_BAR_WIDTH + 1], copied[16], equal[16], dropped[16], phase[16] = "";
	double pct = vda_job_percent(s);
	unsigned int i, fill = (unsigned int)(pct * VDA_BAR_WIDTH / 100.0);

	for (i = 0; i < VDA_BAR_WIDTH; i++)
		bar[i] = i < fill ? '#' : ' ';
	bar[VDA_BAR_WIDTH] = '\0';
	vda_short_size(s->bytes_copied, copied, sizeof(copied));
	vda_short_size(s->bytes_equal, equal, sizeof(equal));
	vda_short_size(s->bytes_dropped, dropped, sizeof(dropped));
	if (s->phase != VDISK_JOB_PHASE_COPY && s->phase != VDISK_JOB_PHASE_NONE)
		snprintf(phase, sizeof(phase), "  %s", vda_job_phase_name(s->phase));
	snprintf(buf, size, "%5.1f%% [%s] %6.1f MiB/s  copied %s equal %s dropped %s%s%-8s",
		 pct, bar, vda_job_mib_per_s(s), copied, equal, dropped, phase, "");
}

/*
 * The line printed when a job ends:
 * "commit /dev/vd0: done: 12582912 bytes copied, 0 equal, 0 dropped in
 * 3.21 s (3.7 MiB/s)".
 */
void vda_job_summary(const char *cmd, const char *dev, const struct vdisk_job_status *s,
		     char *buf, size_t size)
{
	snprintf(buf, size, "%s %s: %s: %llu bytes copied, %llu equal, %llu dropped in "
		 "%.2f s (%.1f MiB/s)", cmd, dev, vda_job_state_name(s->state),
		 (unsigned long long)s->bytes_copied, (unsigned long long)s->bytes_equal,
		 (unsigned long long)s->bytes_dropped, (double)s->elapsed_ns / 1e9,
		 vda_job_mib_per_s(s));
}
