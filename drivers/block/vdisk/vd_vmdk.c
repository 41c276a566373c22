// SPDX-License-Identifier: GPL-2.0
/*
 * VMDK descriptor, sparse header and table entry decoding.
 *
 * Written from VMware's "Virtual Disk Format 1.1"; QEMU's block/vmdk.c
 * was the reference for what real tools write.  The descriptor is
 * untrusted text: it is read line by line with explicit bounds (no
 * sscanf, no string functions that need a terminator), numbers are
 * checked for overflow, and a refusal names the line.  Header fields are
 * checked against the file size without overflow; grain and table sizes
 * are powers of two, so the arithmetic is shifts and masks.
 */
#include "vd_vmdk.h"

/* Longest line, key and value the descriptor may have. */
#define VD_VMDK_LINE_MAX	4096
#define VD_VMDK_KEY_MAX		64

static const char *const vd_vmdk_type_names[VD_VMDK_CREATE_TYPE_COUNT] = {
	[VD_VMDK_MONOLITHIC_SPARSE]	= "monolithicSparse",
	[VD_VMDK_MONOLITHIC_FLAT]	= "monolithicFlat",
	[VD_VMDK_TWOGB_SPARSE]		= "twoGbMaxExtentSparse",
	[VD_VMDK_TWOGB_FLAT]		= "twoGbMaxExtentFlat",
	[VD_VMDK_STREAM_OPTIMIZED]	= "streamOptimized",
	[VD_VMDK_VMFS]			= "vmfs",
};

const char *vd_vmdk_create_type_name(u32 type)
{
	return type < VD_VMDK_CREATE_TYPE_COUNT ? vd_vmdk_type_names[type] : "?";
}

/* A piece of the descriptor text: not NUL-terminated. */
struct vd_vmdk_tok {
	const char *p;
	size_t n;
};

static bool vd_vmdk_tok_is(struct vd_vmdk_tok t, const char *s)
{
	size_t n = strlen(s);

	return t.n == n && !memcmp(t.p, s, n);
}

static bool vd_vmdk_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static struct vd_vmdk_tok vd_vmdk_trim(struct vd_vmdk_tok t)
{
	while (t.n && vd_vmdk_space(t.p[0])) {
		t.p++;
		t.n--;
	}
	while (t.n && vd_vmdk_space(t.p[t.n - 1]))
		t.n--;
	return t;
}

/* The next whitespace-separated word of @line, removed from it. */
static struct vd_vmdk_tok vd_vmdk_word(struct vd_vmdk_tok *line)
{
	struct vd_vmdk_tok w;

	*line = vd_vmdk_trim(*line);
	w.p = line->p;
	w.n = 0;
	while (w.n < line->n && !vd_vmdk_space(line->p[w.n]))
		w.n++;
	line->p += w.n;
	line->n -= w.n;
	return w;
}

/* Decimal u64; false on anything else or overflow. */
static bool vd_vmdk_dec(struct vd_vmdk_tok t, u64 *v)
{
	size_t i;

	*v = 0;
	if (!t.n || t.n > 20)
		return false;
	for (i = 0; i < t.n; i++) {
		u64 d;

		if (t.p[i] < '0' || t.p[i] > '9')
			return false;
		d = t.p[i] - '0';
		if (*v > (~0ULL - d) / 10)
			return false;
		*v = *v * 10 + d;
	}
	return true;
}

/* Hex u32 of 1..8 digits, as CID and parentCID are written. */
static bool vd_vmdk_hex32(struct vd_vmdk_tok t, u32 *v)
{
	size_t i;

	*v = 0;
	if (!t.n || t.n > 8)
		return false;
	for (i = 0; i < t.n; i++) {
		char c = t.p[i];
		u32 d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return false;
		*v = *v << 4 | d;
	}
	return true;
}

/* Strip one pair of double quotes; false if only one side has one. */
static bool vd_vmdk_unquote(struct vd_vmdk_tok *v)
{
	bool open = v->n && v->p[0] == '"';
	bool close = v->n >= 2 && v->p[v->n - 1] == '"';

	if (open != close || (v->n == 1 && open))
		return false;
	if (open) {
		v->p++;
		v->n -= 2;
	}
	return true;
}

struct vd_vmdk_parse {
	const char *text;
	struct vd_vmdk_desc *d;
	u32 max_ext;
	struct vd_msg *msg;
	unsigned int line_no;
	bool seen_version, seen_cid, seen_parent_cid, seen_type;
};

static int vd_vmdk_bad(struct vd_vmdk_parse *ps, int err, const char *what,
		       struct vd_vmdk_tok t)
{
	size_t i, n = t.n > 40 ? 40 : t.n;
	char shown[41];

	/* Control characters of untrusted text never reach a log. */
	for (i = 0; i < n; i++)
		shown[i] = t.p[i] >= 0x20 && t.p[i] < 0x7f ? t.p[i] : '?';
	shown[n] = '\0';
	vd_msg_set(ps->msg, "descriptor line %u: %s '%s%s'", ps->line_no, what,
		   shown, t.n > n ? "..." : "");
	return err;
}

static const char *const vd_vmdk_refused_types[] = {
	"vmfsSparse", "vmfsThin", "vmfsRaw", "vmfsRDM", "vmfsRawDeviceMap",
	"vmfsPassthroughRawDeviceMap", "fullDevice", "partitionedDevice",
	"monolithicSparseVmfs", "seSparse", "custom", NULL
};

static int vd_vmdk_create_type(struct vd_vmdk_parse *ps, struct vd_vmdk_tok v)
{
	u32 i;

	for (i = 0; i < VD_VMDK_CREATE_TYPE_COUNT; i++) {
		if (vd_vmdk_tok_is(v, vd_vmdk_type_names[i])) {
			ps->d->create_type = i;
			ps->seen_type = true;
			return 0;
		}
	}
	for (i = 0; vd_vmdk_refused_types[i]; i++)
		if (vd_vmdk_tok_is(v, vd_vmdk_refused_types[i]))
			return vd_vmdk_bad(ps, -EOPNOTSUPP,
					   "createType not supported:", v);
	return vd_vmdk_bad(ps, -EINVAL, "unknown createType", v);
}

static int vd_vmdk_key_value(struct vd_vmdk_parse *ps, struct vd_vmdk_tok key,
			     struct vd_vmdk_tok v, struct vd_vmdk_tok raw)
{
	struct vd_vmdk_desc *d = ps->d;
	u64 n;

	if (vd_vmdk_tok_is(key, "version")) {
		if (!vd_vmdk_dec(v, &n) || n < 1 || n > 3)
			return vd_vmdk_bad(ps, n > 3 ? -EOPNOTSUPP : -EINVAL,
					   "version not 1, 2 or 3:", v);
		d->version = n;
		ps->seen_version = true;
	} else if (vd_vmdk_tok_is(key, "CID")) {
		if (!vd_vmdk_hex32(raw, &d->cid))
			return vd_vmdk_bad(ps, -EINVAL, "CID not 1..8 hex digits:", raw);
		d->cid_off = raw.p - ps->text;
		d->cid_len = raw.n;
		ps->seen_cid = true;
	} else if (vd_vmdk_tok_is(key, "parentCID")) {
		if (!vd_vmdk_hex32(raw, &d->parent_cid))
			return vd_vmdk_bad(ps, -EINVAL, "parentCID not 1..8 hex digits:", raw);
		ps->seen_parent_cid = true;
	} else if (vd_vmdk_tok_is(key, "createType")) {
		return vd_vmdk_create_type(ps, v);
	} else if (vd_vmdk_tok_is(key, "parentFileNameHint")) {
		if (!v.n || v.n > VD_VMDK_NAME_MAX || memchr(v.p, '\0', v.n))
			return vd_vmdk_bad(ps, -EINVAL,
					   "parentFileNameHint empty or too long:", v);
		memcpy(d->parent_hint, v.p, v.n);
		d->parent_hint[v.n] = '\0';
		d->has_parent = true;
	} else if (key.n > 4 && !memcmp(key.p, "ddb.", 4)) {
		d->nr_ddb++;
	}
	/* Other keys (encoding, isNativeSnapshot, ...) do not change reads. */
	return 0;
}

static int vd_vmdk_extent_line(struct vd_vmdk_parse *ps, struct vd_vmdk_tok line,
			       u32 access)
{
	struct vd_vmdk_desc *d = ps->d;
	struct vd_vmdk_extent *e;
	struct vd_vmdk_tok w, type;
	u64 sectors;

	if (d->nr_extents >= ps->max_ext) {
		vd_msg_set(ps->msg, "descriptor line %u: more than %u extents",
			   ps->line_no, ps->max_ext);
		return -EFBIG;
	}
	e = &d->ext[d->nr_extents];
	memset(e, 0, sizeof(*e));
	e->access = access;

	w = vd_vmdk_word(&line);
	if (!vd_vmdk_dec(w, &sectors) || !sectors || sectors > VD_VMDK_MAX_SECTOR * 256)
		return vd_vmdk_bad(ps, -EINVAL, "extent size not a sector count > 0:", w);
	e->sectors = sectors;
	type = vd_vmdk_word(&line);
	if (vd_vmdk_tok_is(type, "SPARSE")) {
		e->type = VD_VMDK_EXT_SPARSE;
	} else if (vd_vmdk_tok_is(type, "FLAT") || vd_vmdk_tok_is(type, "VMFS")) {
		e->type = VD_VMDK_EXT_FLAT;
	} else if (vd_vmdk_tok_is(type, "ZERO")) {
		e->type = VD_VMDK_EXT_ZERO;
	} else if (vd_vmdk_tok_is(type, "VMFSSPARSE") || vd_vmdk_tok_is(type, "VMFSRDM") ||
		   vd_vmdk_tok_is(type, "VMFSRAW") || vd_vmdk_tok_is(type, "SESPARSE")) {
		return vd_vmdk_bad(ps, -EOPNOTSUPP, "extent type not supported:", type);
	} else {
		return vd_vmdk_bad(ps, -EINVAL, "unknown extent type", type);
	}

	line = vd_vmdk_trim(line);
	if (e->type == VD_VMDK_EXT_ZERO) {
		if (line.n)
			return vd_vmdk_bad(ps, -EINVAL, "ZERO extent followed by", line);
		goto done;
	}
	/* "file name": may hold spaces, never a quote or a NUL */
	if (!line.n || line.p[0] != '"')
		return vd_vmdk_bad(ps, -EINVAL, "extent without a quoted file name:", line);
	w.p = line.p + 1;
	w.n = 0;
	while (w.n < line.n - 1 && w.p[w.n] != '"')
		w.n++;
	if (w.n == line.n - 1)
		return vd_vmdk_bad(ps, -EINVAL, "extent file name not closed:", line);
	if (!w.n || w.n > VD_VMDK_NAME_MAX || memchr(w.p, '\0', w.n))
		return vd_vmdk_bad(ps, -EINVAL, "extent file name empty or too long:", w);
	e->name_off = w.p - ps->text;
	e->name_len = w.n;
	line.p += w.n + 2;
	line.n -= w.n + 2;
	line = vd_vmdk_trim(line);
	if (e->type == VD_VMDK_EXT_FLAT) {
		u64 off = 0;

		if (line.n) {
			w = vd_vmdk_word(&line);
			if (!vd_vmdk_dec(w, &off) || off > (~0ULL >> 9) - sectors)
				return vd_vmdk_bad(ps, -EINVAL, "flat extent offset invalid:", w);
		}
		e->offset = off;
		line = vd_vmdk_trim(line);
	}
	if (line.n)
		return vd_vmdk_bad(ps, -EINVAL, "extent line has extra text", line);
	d->nr_files++;
done:
	if (d->sectors + sectors < d->sectors || d->sectors + sectors > (~0ULL >> 9))
		return vd_vmdk_bad(ps, -EFBIG, "extents add up to more than 2^64 bytes at",
				   type);
	d->sectors += sectors;
	d->nr_extents++;
	return 0;
}

static int vd_vmdk_line(struct vd_vmdk_parse *ps, struct vd_vmdk_tok line)
{
	struct vd_vmdk_tok key, v, raw, first, rest;
	size_t eq;

	line = vd_vmdk_trim(line);
	if (!line.n || line.p[0] == '#')
		return 0;
	if (line.n > VD_VMDK_LINE_MAX)
		return vd_vmdk_bad(ps, -EINVAL, "line too long:", line);
	if (memchr(line.p, '\0', line.n))
		return vd_vmdk_bad(ps, -EINVAL, "NUL byte in", line);

	rest = line;
	first = vd_vmdk_word(&rest);
	if (vd_vmdk_tok_is(first, "RW"))
		return vd_vmdk_extent_line(ps, rest, VD_VMDK_RW);
	if (vd_vmdk_tok_is(first, "RDONLY"))
		return vd_vmdk_extent_line(ps, rest, VD_VMDK_RDONLY);
	if (vd_vmdk_tok_is(first, "NOACCESS"))
		return vd_vmdk_extent_line(ps, rest, VD_VMDK_NOACCESS);

	for (eq = 0; eq < line.n && line.p[eq] != '='; eq++)
		;
	if (eq == line.n)
		return vd_vmdk_bad(ps, -EINVAL, "neither key=value nor an extent:", line);
	key.p = line.p;
	key.n = eq;
	key = vd_vmdk_trim(key);
	if (!key.n || key.n > VD_VMDK_KEY_MAX)
		return vd_vmdk_bad(ps, -EINVAL, "bad key in", line);
	raw.p = line.p + eq + 1;
	raw.n = line.n - eq - 1;
	raw = vd_vmdk_trim(raw);
	v = raw;
	if (!vd_vmdk_unquote(&v))
		return vd_vmdk_bad(ps, -EINVAL, "unbalanced quotes in value", raw);
	if (raw.n && raw.p[0] == '"') {
		raw.p++;	/* a quoted CID: its digits are inside */
		raw.n -= 2;
	}
	return vd_vmdk_key_value(ps, key, v, raw);
}

/* What the createType promises about the extents. */
static int vd_vmdk_check_types(struct vd_vmdk_parse *ps)
{
	struct vd_vmdk_desc *d = ps->d;
	u32 ct = d->create_type, i;
	bool sparse = ct == VD_VMDK_MONOLITHIC_SPARSE || ct == VD_VMDK_TWOGB_SPARSE ||
		      ct == VD_VMDK_STREAM_OPTIMIZED;
	bool mono = ct == VD_VMDK_MONOLITHIC_SPARSE || ct == VD_VMDK_MONOLITHIC_FLAT ||
		    ct == VD_VMDK_STREAM_OPTIMIZED;

	for (i = 0; i < d->nr_extents; i++) {
		u32 t = d->ext[i].type;

		if (sparse ? t != VD_VMDK_EXT_SPARSE : t == VD_VMDK_EXT_SPARSE) {
			vd_msg_set(ps->msg, "descriptor: extent %u is %s in a %s disk", i + 1,
				   t == VD_VMDK_EXT_SPARSE ? "SPARSE" :
				   t == VD_VMDK_EXT_FLAT ? "FLAT" : "ZERO",
				   vd_vmdk_type_names[ct]);
			return -EINVAL;
		}
	}
	if (mono && d->nr_files != 1) {
		vd_msg_set(ps->msg, "descriptor: %s disk with %u extent files",
			   vd_vmdk_type_names[ct], d->nr_files);
		return -EINVAL;
	}
	return 0;
}

int vd_vmdk_parse_descriptor(const char *text, size_t len,
			     struct vd_vmdk_desc *d, u32 max_ext,
			     struct vd_msg *msg)
{
	struct vd_vmdk_extent *ext = d->ext;
	struct vd_vmdk_parse ps = {
		.text = text, .d = d, .max_ext = max_ext, .msg = msg,
	};
	const char *nul;
	size_t pos = 0;
	int ret;

	memset(d, 0, sizeof(*d));
	d->ext = ext;
	d->parent_cid = VD_VMDK_NO_PARENT_CID;
	if (len > VD_VMDK_DESC_MAX) {
		vd_msg_set(msg, "descriptor: %zu bytes, more than %u", len, VD_VMDK_DESC_MAX);
		return -EFBIG;
	}
	/* An embedded descriptor is padded with NULs to its sectors. */
	nul = memchr(text, '\0', len);
	if (nul)
		len = nul - text;

	while (pos < len) {
		struct vd_vmdk_tok line = { text + pos, 0 };

		while (pos + line.n < len && text[pos + line.n] != '\n')
			line.n++;
		pos += line.n + 1;
		ps.line_no++;
		ret = vd_vmdk_line(&ps, line);
		if (ret)
			return ret;
	}
	if (!ps.seen_version) {
		vd_msg_set(msg, "descriptor: no version line");
		return -EINVAL;
	}
	if (!ps.seen_cid) {
		vd_msg_set(msg, "descriptor: no CID line");
		return -EINVAL;
	}
	if (!ps.seen_type) {
		vd_msg_set(msg, "descriptor: no createType line");
		return -EINVAL;
	}
	if (!d->nr_extents) {
		vd_msg_set(msg, "descriptor: no extent lines");
		return -EINVAL;
	}
	if (d->has_parent && !ps.seen_parent_cid) {
		vd_msg_set(msg, "descriptor: parentFileNameHint without a parentCID");
		return -EINVAL;
	}
	return vd_vmdk_check_types(&ps);
}

/*
 * The key of a "key = value" line as vd_vmdk_line() sees it; empty for
 * comments, blank lines and extent lines (whose file names may hold '=').
 */
static struct vd_vmdk_tok vd_vmdk_line_key(struct vd_vmdk_tok line)
{
	struct vd_vmdk_tok key = { line.p, 0 }, rest, first;
	size_t eq;

	line = vd_vmdk_trim(line);
	if (!line.n || line.p[0] == '#')
		return key;
	rest = line;
	first = vd_vmdk_word(&rest);
	if (vd_vmdk_tok_is(first, "RW") || vd_vmdk_tok_is(first, "RDONLY") ||
	    vd_vmdk_tok_is(first, "NOACCESS"))
		return key;
	for (eq = 0; eq < line.n && line.p[eq] != '='; eq++)
		;
	if (eq == line.n)
		return key;
	key.p = line.p;
	key.n = eq;
	return vd_vmdk_trim(key);
}

/* The rewritten text, built with a bound. */
struct vd_vmdk_out {
	char *p;
	size_t size;
	size_t n;
	bool full;
};

static void vd_vmdk_emit(struct vd_vmdk_out *o, const char *s, size_t n)
{
	if (o->full || n > o->size - o->n) {
		o->full = true;
		return;
	}
	memcpy(o->p + o->n, s, n);
	o->n += n;
}

static void vd_vmdk_emit_str(struct vd_vmdk_out *o, const char *s)
{
	vd_vmdk_emit(o, s, strlen(s));
}

/* The parentCID line (its line ending @eol) */
static void vd_vmdk_emit_parent_cid(struct vd_vmdk_out *o, u32 cid, const char *eol)
{
	char line[24];

	scnprintf(line, sizeof(line), "parentCID=%08x", cid);
	vd_vmdk_emit_str(o, line);
	vd_vmdk_emit_str(o, eol);
}

static void vd_vmdk_emit_hint(struct vd_vmdk_out *o, const char *hint, const char *eol)
{
	vd_vmdk_emit_str(o, "parentFileNameHint=\"");
	vd_vmdk_emit_str(o, hint);
	vd_vmdk_emit_str(o, "\"");
	vd_vmdk_emit_str(o, eol);
}

int vd_vmdk_set_parent(const char *text, size_t len, u32 parent_cid,
		       const char *hint, char *out, size_t size,
		       size_t *out_len, struct vd_msg *msg)
{
	struct vd_vmdk_out o = { .p = out, .size = size };
	bool has_pcid = false, has_hint = false, has_cid = false, has_type = false;
	bool put_pcid = false, put_hint = false;
	size_t hint_len = strlen(hint), i, pos;
	const char *nul;

	*out_len = 0;
	if (hint_len > VD_VMDK_NAME_MAX) {
		vd_msg_set(msg, "descriptor: parentFileNameHint of %zu bytes exceeds %u",
			   hint_len, VD_VMDK_NAME_MAX);
		return -EFBIG;
	}
	for (i = 0; i < hint_len; i++) {
		unsigned char c = hint[i];

		if (c == '"' || c < 0x20 || c == 0x7f) {
			vd_msg_set(msg,
				   "descriptor: parentFileNameHint with a %s at byte %zu cannot be stored",
				   c == '"' ? "double quote" : "control character", i);
			return -EINVAL;
		}
	}
	nul = memchr(text, '\0', len);
	if (nul)
		len = nul - text;

	/* Which lines are there: missing ones are inserted below. */
	for (pos = 0; pos < len;) {
		struct vd_vmdk_tok line = { text + pos, 0 }, key;

		while (pos + line.n < len && text[pos + line.n] != '\n')
			line.n++;
		pos += line.n + 1;
		key = vd_vmdk_line_key(line);
		has_cid |= vd_vmdk_tok_is(key, "CID");
		has_pcid |= vd_vmdk_tok_is(key, "parentCID");
		has_type |= vd_vmdk_tok_is(key, "createType");
		has_hint |= vd_vmdk_tok_is(key, "parentFileNameHint");
	}
	if (!has_cid || !has_type) {
		vd_msg_set(msg, "descriptor: no %s line to place the parent after",
			   has_cid ? "createType" : "CID");
		return -EINVAL;
	}
	put_pcid = !has_pcid;
	put_hint = !has_hint && hint_len;

	for (pos = 0; pos < len;) {
		struct vd_vmdk_tok line = { text + pos, 0 }, key;
		bool nl, cr;
		const char *eol;

		while (pos + line.n < len && text[pos + line.n] != '\n')
			line.n++;
		nl = pos + line.n < len;
		cr = line.n && line.p[line.n - 1] == '\r';
		eol = cr ? (nl ? "\r\n" : "\r") : (nl ? "\n" : "");
		pos += line.n + 1;
		key = vd_vmdk_line_key(line);
		if (vd_vmdk_tok_is(key, "parentCID")) {
			vd_vmdk_emit_parent_cid(&o, parent_cid, eol);
			continue;
		}
		if (vd_vmdk_tok_is(key, "parentFileNameHint")) {
			if (hint_len)
				vd_vmdk_emit_hint(&o, hint, eol);
			continue;
		}
		vd_vmdk_emit(&o, line.p, line.n + nl);
		/* The last line may have no line break: one goes before ours. */
		if (!nl && ((put_pcid && vd_vmdk_tok_is(key, "CID")) ||
			    (put_hint && vd_vmdk_tok_is(key, "createType"))))
			vd_vmdk_emit_str(&o, "\n");
		eol = cr ? "\r\n" : "\n";
		if (put_pcid && vd_vmdk_tok_is(key, "CID")) {
			vd_vmdk_emit_parent_cid(&o, parent_cid, eol);
			put_pcid = false;
		}
		if (put_hint && vd_vmdk_tok_is(key, "createType")) {
			vd_vmdk_emit_hint(&o, hint, eol);
			put_hint = false;
		}
	}
	if (o.full) {
		vd_msg_set(msg, "descriptor: the new text does not fit in its %zu bytes of room",
			   size);
		return -EFBIG;
	}
	*out_len = o.n;
	return 0;
}

/* true if [off, off + len) ends at or before @limit, without overflow */
static bool vd_vmdk_fits(u64 off, u64 len, u64 limit)
{
	return off <= limit && len <= limit - off;
}

static bool vd_vmdk_pow2(u64 v)
{
	return v && !(v & (v - 1));
}

static u32 vd_vmdk_log2(u64 v)
{
	u32 b = 0;

	while (v > 1) {
		v >>= 1;
		b++;
	}
	return b;
}

/* A table of @bytes at sector @sector: past the header and in the file. */
static bool vd_vmdk_table_ok(u64 sector, u64 bytes, u64 file_size)
{
	return sector >= 1 && sector <= (~0ULL >> 9) &&
	       vd_vmdk_fits(sector << 9, bytes, file_size);
}

int vd_vmdk_parse_header(const void *buf, u64 file_size, bool footer,
			 struct vd_vmdk_header *h, struct vd_msg *msg)
{
	const u8 *b = buf;
	u64 span, gd_bytes;
	bool deflate;

	memset(h, 0, sizeof(*h));
	if (vd_le32(b) != VD_VMDK_MAGIC) {
		vd_msg_set(msg, "sparse header: magic 0x%08x is not KDMV", vd_le32(b));
		return -EINVAL;
	}
	h->version = vd_le32(b + 4);
	h->flags = vd_le32(b + 8);
	h->capacity = vd_le64(b + 12);
	h->grain_sectors = vd_le64(b + 20);
	h->desc_offset = vd_le64(b + 28);
	h->desc_sectors = vd_le64(b + 36);
	h->num_gtes = vd_le32(b + 44);
	h->rgd_offset = vd_le64(b + 48);
	h->gd_offset = vd_le64(b + 56);
	h->overhead = vd_le64(b + 64);
	h->unclean = b[VD_VMDK_HDR_UNCLEAN];
	h->compress = vd_le16(b + 77);

	if (h->version < 1 || h->version > 3) {
		vd_msg_set(msg, "sparse header: version %u not supported (1..3)", h->version);
		return -EOPNOTSUPP;
	}
	if (h->flags & ~VD_VMDK_FLAGS_KNOWN) {
		vd_msg_set(msg, "sparse header: unknown flags 0x%x",
			   (u32)(h->flags & ~VD_VMDK_FLAGS_KNOWN));
		return -EOPNOTSUPP;
	}
	if ((h->flags & VD_VMDK_FLAG_NL_TEST) &&
	    (b[73] != '\n' || b[74] != ' ' || b[75] != '\r' || b[76] != '\n')) {
		vd_msg_set(msg, "sparse header: newline test characters changed (text-mode copy?)");
		return -EINVAL;
	}
	if (!h->capacity || h->capacity > VD_VMDK_MAX_SECTOR) {
		vd_msg_set(msg, "sparse header: capacity %llu sectors out of range (1..2^32-1)",
			   h->capacity);
		return h->capacity ? -EFBIG : -EINVAL;
	}
	if (!vd_vmdk_pow2(h->grain_sectors) || h->grain_sectors > VD_VMDK_MAX_GRAIN_SECTORS) {
		vd_msg_set(msg, "sparse header: grain size %llu sectors, not a power of 2 in 1..%u",
			   h->grain_sectors,
			   VD_VMDK_MAX_GRAIN_SECTORS);
		return h->grain_sectors > VD_VMDK_MAX_GRAIN_SECTORS ? -EFBIG : -EINVAL;
	}
	h->grain_bits = vd_vmdk_log2(h->grain_sectors) + 9;
	if (!vd_vmdk_pow2(h->num_gtes) || h->num_gtes > VD_VMDK_MAX_GTES) {
		vd_msg_set(msg, "sparse header: numGTEsPerGT %u not a power of two in 1..%u",
			   h->num_gtes, VD_VMDK_MAX_GTES);
		return -EINVAL;
	}
	h->gte_bits = vd_vmdk_log2(h->num_gtes);
	deflate = h->compress == VD_VMDK_COMPRESS_DEFLATE;
	if (h->compress > VD_VMDK_COMPRESS_DEFLATE ||
	    deflate != !!(h->flags & VD_VMDK_FLAG_COMPRESSED)) {
		vd_msg_set(msg, "sparse header: compressAlgorithm %u with flags 0x%x",
			   h->compress, h->flags);
		return h->compress > VD_VMDK_COMPRESS_DEFLATE ? -EOPNOTSUPP : -EINVAL;
	}
	h->compressed = h->flags & VD_VMDK_FLAG_COMPRESSED;
	if (h->compressed && !(h->flags & VD_VMDK_FLAG_MARKERS)) {
		vd_msg_set(msg, "sparse header: compressed grains without markers");
		return -EOPNOTSUPP;
	}
	h->zeroed_grain = h->flags & VD_VMDK_FLAG_ZERO_GRAIN;

	span = h->grain_sectors << h->gte_bits;		/* sectors per GT */
	h->gd_entries = (h->capacity + span - 1) >> vd_vmdk_log2(span);
	if (h->gd_entries > VD_VMDK_MAX_GD_ENTRIES) {
		vd_msg_set(msg, "sparse header: grain directory of %u entries", h->gd_entries);
		return -EFBIG;
	}
	gd_bytes = (u64)h->gd_entries * 4;
	if (h->desc_offset || h->desc_sectors) {
		if (!h->desc_offset || !h->desc_sectors ||
		    h->desc_sectors > VD_VMDK_DESC_MAX / 512 ||
		    !vd_vmdk_table_ok(h->desc_offset, h->desc_sectors << 9, file_size)) {
			vd_msg_set(msg,
				   "sparse header: descriptor (%llu sectors at sector %llu) outside the file",
				   h->desc_sectors, h->desc_offset);
			return -EINVAL;
		}
	}
	if (h->gd_offset == VD_VMDK_GD_AT_END) {
		if (footer || !h->compressed) {
			vd_msg_set(msg, "sparse header: gdOffset at end %s",
				   footer ? "in the footer" : "without compressed grains");
			return -EINVAL;
		}
		return 0;	/* the footer's copy has the tables */
	}
	if (!vd_vmdk_table_ok(h->gd_offset, gd_bytes, file_size)) {
		vd_msg_set(msg,
			   "sparse header: grain directory at sector %llu (%llu bytes) outside the file",
			   h->gd_offset, gd_bytes);
		return -EINVAL;
	}
	if (h->flags & VD_VMDK_FLAG_RGD) {
		if (!vd_vmdk_table_ok(h->rgd_offset, gd_bytes, file_size)) {
			vd_msg_set(msg,
				   "sparse header: redundant grain directory at sector %llu outside the file",
				   h->rgd_offset);
			return -EINVAL;
		}
	} else {
		h->rgd_offset = 0;
	}
	return 0;
}

int vd_vmdk_gd_entry(const struct vd_vmdk_header *h, u32 entry, u64 file_size,
		     struct vd_msg *msg)
{
	if (!entry)
		return 0;
	if (!vd_vmdk_table_ok(entry, (u64)h->num_gtes * 4, file_size)) {
		vd_msg_set(msg, "grain directory entry %u: grain table outside the file", entry);
		return -EIO;
	}
	return 0;
}

int vd_vmdk_gt_entry(const struct vd_vmdk_header *h, u32 entry, u64 file_size,
		     u32 *kind, u64 *host_off, struct vd_msg *msg)
{
	u64 off = (u64)entry << 9;

	*host_off = 0;
	if (entry == VD_VMDK_GTE_UNALLOCATED) {
		*kind = VD_VMDK_GRAIN_UNALLOCATED;
		return 0;
	}
	if (entry == VD_VMDK_GTE_ZEROED && h->zeroed_grain) {
		*kind = VD_VMDK_GRAIN_ZERO;
		return 0;
	}
	if (h->compressed) {
		if (!vd_vmdk_table_ok(entry, VD_VMDK_MARKER_LEN, file_size)) {
			vd_msg_set(msg, "grain table entry %u: grain marker outside the file",
				   entry);
			return -EIO;
		}
		*kind = VD_VMDK_GRAIN_COMPRESSED;
	} else {
		if (!vd_vmdk_table_ok(entry, 1ULL << h->grain_bits, file_size)) {
			vd_msg_set(msg, "grain table entry %u: grain outside the file", entry);
			return -EIO;
		}
		*kind = VD_VMDK_GRAIN_DATA;
	}
	*host_off = off;
	return 0;
}

int vd_vmdk_grain_marker(const struct vd_vmdk_header *h, const void *buf,
			 u64 lba, u32 max_len, u32 *comp_len,
			 struct vd_msg *msg)
{
	const u8 *b = buf;
	u64 got = vd_le64(b);
	u32 size = vd_le32(b + 8);

	*comp_len = 0;
	if (got != lba) {
		vd_msg_set(msg, "grain marker: lba %llu where %llu was expected", got, lba);
		return -EIO;
	}
	if (!size || size > max_len) {
		vd_msg_set(msg, "grain marker: compressed size %u out of range (1..%u)",
			   size, max_len);
		return -EIO;
	}
	(void)h;
	*comp_len = size;
	return 0;
}

int vd_vmdk_footer_marker(const void *buf, struct vd_msg *msg)
{
	const u8 *b = buf;
	const u8 *eos = b + 2 * 512;

	if (vd_le32(b + 8) != 0 || vd_le32(b + 12) != VD_VMDK_MARKER_FOOTER ||
	    vd_le32(eos + 8) != 0 || vd_le32(eos + 12) != VD_VMDK_MARKER_EOS) {
		vd_msg_set(msg, "streamOptimized footer: markers missing at the end of the file");
		return -EINVAL;
	}
	return 0;
}
