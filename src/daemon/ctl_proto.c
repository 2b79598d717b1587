/* SPDX-License-Identifier: MIT */
/* The control protocol codec (see ctl_proto.h). */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "daemon/ctl_proto.h"

static const char *const op_names[] = {
	[NVMF_CTL_INFO] = "info",
	[NVMF_CTL_DISCONNECT] = "disconnect",
	[NVMF_CTL_ADD_PATH] = "add_path",
	[NVMF_CTL_REMOVE_PATH] = "remove_path",
};

#define NR_OPS (sizeof(op_names) / sizeof(op_names[0]))

const char *nvmf_ctl_op_str(enum nvmf_ctl_op op)
{
	return (unsigned int)op < NR_OPS ? op_names[op] : NULL;
}

/*
 * Parse @len bytes as exactly one JSON object (strict, UTF-8, bounded
 * depth), followed by nothing but whitespace (strict mode refuses the
 * rest). Returns the object or NULL
 * with @err set; @what ("request", "reply") names the message.
 */
static struct json_object *parse_object(const char *buf, size_t len, const char *what, char *err,
					size_t errlen)
{
	struct json_tokener *tok;
	struct json_object *o;
	enum json_tokener_error jerr;
	size_t end;

	if (len == 0 || (len == 1 && buf[0] == '\n')) {
		snprintf(err, errlen, "empty %s", what);
		return NULL;
	}
	if (len > INT_MAX || len > NVMF_CTL_REPLY_MAX) {
		snprintf(err, errlen, "%s of %zu bytes is too long", what, len);
		return NULL;
	}
	/* json-c would stop at a NUL and leave the rest unread. */
	if (memchr(buf, 0, len)) {
		snprintf(err, errlen, "%s contains a NUL byte", what);
		return NULL;
	}
	tok = json_tokener_new_ex(NVMF_CTL_DEPTH);
	if (!tok) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, buf, (int)len);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (!o) {
		if (jerr == json_tokener_continue || jerr == json_tokener_success)
			snprintf(err, errlen, "%s is not JSON: it ends in the middle", what);
		else
			snprintf(err, errlen, "%s is not JSON: %s at byte %zu", what,
				 json_tokener_error_desc(jerr), end);
		return NULL;
	}
	if (!json_object_is_type(o, json_type_object)) {
		snprintf(err, errlen, "%s is JSON but not an object", what);
		json_object_put(o);
		return NULL;
	}
	return o;
}

/*
 * @s (@len bytes, the peer's) for a message: at most 64 bytes, control
 * characters as '?', "..." when cut. @out has 68 bytes.
 */
static const char *quote(const char *s, size_t len, char out[68])
{
	size_t n = len > 64 ? 64 : len;

	for (size_t i = 0; i < n; i++)
		out[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	strcpy(out + n, len > 64 ? "..." : "");
	return out;
}

/*
 * The "version" member of @o: 0 when it is NVMF_CTL_VERSION, else -EPROTO
 * with @err naming what @peer ("request", "daemon") said.
 */
static int check_version(struct json_object *o, const char *peer, char *err, size_t errlen)
{
	struct json_object *v;
	int64_t ver;

	if (!json_object_object_get_ex(o, "version", &v)) {
		snprintf(err, errlen, "%s has no protocol version (this nvmfuse speaks "
			 "control protocol version %d)", peer, NVMF_CTL_VERSION);
		return -EPROTO;
	}
	if (!json_object_is_type(v, json_type_int)) {
		snprintf(err, errlen, "%s: protocol version is not a whole number", peer);
		return -EPROTO;
	}
	ver = json_object_get_int64(v);
	if (ver != NVMF_CTL_VERSION) {
		snprintf(err, errlen, "%s speaks control protocol version %lld, this nvmfuse "
			 "speaks version %d", peer, (long long)ver, NVMF_CTL_VERSION);
		return -EPROTO;
	}
	return 0;
}

/*
 * String member @key (@val, the peer's) into @out (@cap bytes): a
 * non-empty string that fits, without control characters. 0 or -EINVAL.
 */
static int copy_str(struct json_object *val, const char *key, char *out, size_t cap, char *err,
		    size_t errlen)
{
	const char *v;
	size_t len;

	if (!json_object_is_type(val, json_type_string)) {
		snprintf(err, errlen, "\"%s\" is not a string", key);
		return -EINVAL;
	}
	v = json_object_get_string(val);
	len = (size_t)json_object_get_string_len(val);
	if (!len || len >= cap) {
		snprintf(err, errlen, "\"%s\" must have 1 to %zu bytes", key, cap - 1);
		return -EINVAL;
	}
	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f) {
			snprintf(err, errlen, "\"%s\" contains a control character", key);
			return -EINVAL;
		}
	}
	memcpy(out, v, len);
	out[len] = 0;
	return 0;
}

int nvmf_ctl_request_build(const struct nvmf_ctl_request *r, char **out)
{
	const char *op = nvmf_ctl_op_str(r->op);
	struct json_object *o;
	const char *s;

	*out = NULL;
	if (!op)
		return -EINVAL;
	o = json_object_new_object();
	if (!o)
		return -ENOMEM;
	json_object_object_add(o, "version", json_object_new_int(NVMF_CTL_VERSION));
	json_object_object_add(o, "op", json_object_new_string(op));
	if (r->op == NVMF_CTL_DISCONNECT)
		json_object_object_add(o, "force", json_object_new_boolean(r->force));
	/* Only when set: a plain disconnect stays the request it always was. */
	if (r->op == NVMF_CTL_DISCONNECT && r->keep_disks)
		json_object_object_add(o, "keep_disks", json_object_new_boolean(true));
	if (r->op == NVMF_CTL_ADD_PATH) {
		json_object_object_add(o, "transport", json_object_new_string(r->transport));
		json_object_object_add(o, "traddr", json_object_new_string(r->traddr));
		json_object_object_add(o, "trsvcid", json_object_new_string(r->trsvcid));
		if (r->iopolicy[0])
			json_object_object_add(o, "iopolicy", json_object_new_string(r->iopolicy));
		if (r->host_traddr[0])
			json_object_object_add(o, "host_traddr",
					       json_object_new_string(r->host_traddr));
		if (r->host_iface[0])
			json_object_object_add(o, "host_iface", json_object_new_string(r->host_iface));
		if (r->tos >= 0)
			json_object_object_add(o, "tos", json_object_new_int(r->tos));
	}
	if (r->op == NVMF_CTL_REMOVE_PATH)
		json_object_object_add(o, "path", json_object_new_int(r->path));
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	if (s && asprintf(out, "%s\n", s) < 0)
		*out = NULL;
	json_object_put(o);
	return *out ? 0 : -ENOMEM;
}

int nvmf_ctl_request_parse(const char *buf, size_t len, struct nvmf_ctl_request *r, char *err,
			   size_t errlen)
{
	struct json_object *o, *v;
	const char *name = NULL;
	size_t name_len = 0;
	bool seen_path = false;
	char q[68];
	int rc = 0;

	memset(r, 0, sizeof(*r));
	r->tos = -1;
	if (len > NVMF_CTL_REQUEST_MAX) {
		snprintf(err, errlen, "request longer than %d bytes", NVMF_CTL_REQUEST_MAX);
		return -EBADMSG;
	}
	o = parse_object(buf, len, "request", err, errlen);
	if (!o)
		return -EBADMSG;
	rc = check_version(o, "request", err, errlen);
	if (rc < 0)
		goto out;
	if (!json_object_object_get_ex(o, "op", &v) || !json_object_is_type(v, json_type_string)) {
		snprintf(err, errlen, "request has no \"op\" string");
		rc = -EINVAL;
		goto out;
	}
	name = json_object_get_string(v);
	name_len = (size_t)json_object_get_string_len(v);
	rc = -EOPNOTSUPP;
	for (unsigned int i = 0; i < NR_OPS; i++) {
		if (strlen(op_names[i]) == name_len && !memcmp(op_names[i], name, name_len)) {
			r->op = (enum nvmf_ctl_op)i;
			rc = 0;
		}
	}
	if (rc < 0) {
		snprintf(err, errlen, "unknown op \"%s\"", quote(name, name_len, q));
		goto out;
	}
	json_object_object_foreach(o, key, val) {
		if (!strcmp(key, "version") || !strcmp(key, "op"))
			continue;
		bool *flag = NULL;
		char *str = NULL;
		size_t cap = 0;

		if (r->op == NVMF_CTL_ADD_PATH) {
			if (!strcmp(key, "transport"))
				str = r->transport, cap = sizeof(r->transport);
			else if (!strcmp(key, "traddr"))
				str = r->traddr, cap = sizeof(r->traddr);
			else if (!strcmp(key, "trsvcid"))
				str = r->trsvcid, cap = sizeof(r->trsvcid);
			else if (!strcmp(key, "iopolicy"))
				str = r->iopolicy, cap = sizeof(r->iopolicy);
			else if (!strcmp(key, "host_traddr"))
				str = r->host_traddr, cap = sizeof(r->host_traddr);
			else if (!strcmp(key, "host_iface"))
				str = r->host_iface, cap = sizeof(r->host_iface);
		}
		if (r->op == NVMF_CTL_ADD_PATH && !strcmp(key, "tos")) {
			int64_t tos = json_object_is_type(val, json_type_int) ?
				      json_object_get_int64(val) : -2;

			if (tos < -1 || tos > 255) {
				snprintf(err, errlen, "\"tos\" is not a number from -1 to 255");
				rc = -EINVAL;
				goto out;
			}
			r->tos = (int)tos;
			continue;
		}
		if (str) {
			rc = copy_str(val, key, str, cap, err, errlen);
			if (rc < 0)
				goto out;
			continue;
		}
		if (r->op == NVMF_CTL_REMOVE_PATH && !strcmp(key, "path")) {
			int64_t slot = json_object_is_type(val, json_type_int) ?
				       json_object_get_int64(val) : -1;

			if (slot < 0 || slot >= NVMF_CTL_PATH_MAX) {
				snprintf(err, errlen, "\"path\" is not a slot from 0 to %d",
					 NVMF_CTL_PATH_MAX - 1);
				rc = -EINVAL;
				goto out;
			}
			r->path = (int)slot;
			seen_path = true;
			continue;
		}
		if (r->op == NVMF_CTL_DISCONNECT && !strcmp(key, "force"))
			flag = &r->force;
		else if (r->op == NVMF_CTL_DISCONNECT && !strcmp(key, "keep_disks"))
			flag = &r->keep_disks;
		if (flag && !json_object_is_type(val, json_type_boolean)) {
			snprintf(err, errlen, "\"%s\" is not true or false", key);
			rc = -EINVAL;
			goto out;
		}
		if (flag) {
			*flag = json_object_get_boolean(val);
			continue;
		}
		snprintf(err, errlen, "unknown member \"%s\" in a %s request",
			 quote(key, strlen(key), q), op_names[r->op]);
		rc = -EINVAL;
		goto out;
	}
	if (r->op == NVMF_CTL_ADD_PATH && (!r->transport[0] || !r->traddr[0] || !r->trsvcid[0])) {
		snprintf(err, errlen, "add_path needs \"transport\", \"traddr\" and \"trsvcid\"");
		rc = -EINVAL;
		goto out;
	}
	if (r->op == NVMF_CTL_REMOVE_PATH && !seen_path) {
		snprintf(err, errlen, "remove_path needs \"path\"");
		rc = -EINVAL;
		goto out;
	}
	if (r->force && r->keep_disks) {
		/* One deletes the disks in use, the other keeps them all. */
		snprintf(err, errlen, "\"force\" and \"keep_disks\" together: the disks are "
			 "either deleted or kept");
		rc = -EINVAL;
	}
out:
	json_object_put(o);
	if (rc < 0)
		memset(r, 0, sizeof(*r));
	return rc;
}

static struct json_object *reply_new(bool ok)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	json_object_object_add(o, "version", json_object_new_int(NVMF_CTL_VERSION));
	json_object_object_add(o, "ok", json_object_new_boolean(ok));
	return o;
}

struct json_object *nvmf_ctl_reply_ok(void)
{
	return reply_new(true);
}

struct json_object *nvmf_ctl_reply_error(const char *error)
{
	struct json_object *o = reply_new(false);

	if (o)
		json_object_object_add(o, "error", json_object_new_string(error));
	return o;
}

int nvmf_ctl_reply_build(struct json_object *reply, char **out)
{
	const char *s;

	*out = NULL;
	if (!reply)
		return -ENOMEM;
	s = json_object_to_json_string_ext(reply, JSON_C_TO_STRING_PLAIN |
					   JSON_C_TO_STRING_NOSLASHESCAPE);
	if (s && asprintf(out, "%s\n", s) < 0)
		*out = NULL;
	json_object_put(reply);
	return *out ? 0 : -ENOMEM;
}

int nvmf_ctl_reply_parse(const char *buf, size_t len, struct json_object **out, char *err,
			 size_t errlen)
{
	struct json_object *o, *ok, *e;
	int rc;

	*out = NULL;
	o = parse_object(buf, len, "reply", err, errlen);
	if (!o) {
		char why[200];

		snprintf(why, sizeof(why), "%s", err);
		snprintf(err, errlen, "the daemon speaks another control protocol (%s; this "
			 "nvmfuse speaks JSON version %d)", why, NVMF_CTL_VERSION);
		return -EBADMSG;
	}
	rc = check_version(o, "the daemon", err, errlen);
	if (rc < 0)
		goto fail;
	if (!json_object_object_get_ex(o, "ok", &ok) || !json_object_is_type(ok, json_type_boolean)) {
		snprintf(err, errlen, "the daemon's reply has no \"ok\" true or false");
		rc = -EBADMSG;
		goto fail;
	}
	if (!json_object_get_boolean(ok)) {
		size_t n = 0;

		/* Its text is the daemon's: one line, no control characters, NUL included. */
		if (json_object_object_get_ex(o, "error", &e) &&
		    json_object_is_type(e, json_type_string) && errlen) {
			const char *t = json_object_get_string(e);
			size_t tlen = (size_t)json_object_get_string_len(e);

			for (; n < tlen && n + 1 < errlen; n++)
				err[n] = (unsigned char)t[n] < 0x20 || t[n] == 0x7f ? ' ' : t[n];
			err[n] = 0;
		}
		if (strspn(err, " ") == n)	/* nothing, or blanks only */
			snprintf(err, errlen, "the daemon refused the request without saying why");
		rc = -EREMOTEIO;
		goto fail;
	}
	*out = o;
	return 0;
fail:
	json_object_put(o);
	return rc;
}
