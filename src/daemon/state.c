/* SPDX-License-Identifier: MIT */
/*
 * Run-dir records for recovery after a daemon died (see state.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "base/log.h"
#include "daemon/registry.h"
#include "daemon/state.h"
#include "host/identify.h"

/* ---------------------------------------------------------- JSON helpers */

static void hex(char *out, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
	out[2 * n] = 0;
}

static int unhex(const char *s, uint8_t *b, size_t n)
{
	if (strlen(s) != 2 * n)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned int v;
		char two[3] = { s[2 * i], s[2 * i + 1], 0 };

		if (!strchr("0123456789abcdefABCDEF", two[0]) || !two[0] ||
		    !strchr("0123456789abcdefABCDEF", two[1]) || !two[1] ||
		    sscanf(two, "%2x", &v) != 1)
			return -1;
		b[i] = (uint8_t)v;
	}
	return 0;
}

static void put_hex(struct json_object *o, const char *key, const uint8_t *b, size_t n)
{
	char buf[2 * 16 + 1];

	hex(buf, b, n);
	json_object_object_add(o, key, json_object_new_string(buf));
}

/* Member @key of @o as an integer in [0, max]. */
static int get_u64(struct json_object *o, const char *key, uint64_t max, uint64_t *out, char *err,
		   size_t errlen)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int)) {
		snprintf(err, errlen, "'%s' is missing or not an integer", key);
		return -EINVAL;
	}
	if (json_object_get_int64(v) < 0 || json_object_get_uint64(v) > max) {
		snprintf(err, errlen, "'%s' is out of range", key);
		return -EINVAL;
	}
	*out = json_object_get_uint64(v);
	return 0;
}

/* Member @key of @o as a string of 1..@cap-1 bytes, copied to @out. */
static int get_str(struct json_object *o, const char *key, char *out, size_t cap, char *err,
		   size_t errlen)
{
	struct json_object *v;
	const char *s;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string)) {
		snprintf(err, errlen, "'%s' is missing or not a string", key);
		return -EINVAL;
	}
	s = json_object_get_string(v);
	if (!*s || strlen(s) >= cap || strlen(s) != (size_t)json_object_get_string_len(v)) {
		snprintf(err, errlen, "'%s' is empty, too long or holds a NUL", key);
		return -EINVAL;
	}
	strcpy(out, s);
	return 0;
}

static int get_hex(struct json_object *o, const char *key, uint8_t *b, size_t n, char *err,
		   size_t errlen)
{
	char buf[2 * 16 + 2];
	int rc = get_str(o, key, buf, sizeof(buf), err, errlen);

	if (rc == 0 && unhex(buf, b, n) < 0) {
		snprintf(err, errlen, "'%s' is not %zu hex digits", key, 2 * n);
		rc = -EINVAL;
	}
	return rc;
}

/* ----------------------------------------------------------- disk record */

char *state_disk_format(const struct state_disk *s)
{
	struct json_object *o = json_object_new_object();
	char *text;

	if (!o)
		return NULL;
	json_object_object_add(o, "version", json_object_new_int(STATE_VERSION));
	json_object_object_add(o, "dev_id", json_object_new_uint64(s->dev_id));
	json_object_object_add(o, "owner", json_object_new_string(s->owner));
	json_object_object_add(o, "subnqn", json_object_new_string(s->subnqn));
	json_object_object_add(o, "nsid", json_object_new_uint64(s->ns.nsid));
	json_object_object_add(o, "nsze", json_object_new_uint64(s->ns.nsze));
	json_object_object_add(o, "lba_size", json_object_new_uint64(s->ns.lba_size));
	json_object_object_add(o, "ms", json_object_new_uint64(s->ns.ms));
	json_object_object_add(o, "csi", json_object_new_uint64(s->ns.csi));
	put_hex(o, "eui64", s->ns.eui64, sizeof(s->ns.eui64));
	put_hex(o, "nguid", s->ns.nguid, sizeof(s->ns.nguid));
	put_hex(o, "uuid", s->ns.uuid, sizeof(s->ns.uuid));
	text = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
						     JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return text;
}

int state_disk_parse(const char *text, struct state_disk *out, char *err, size_t errlen)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *o;
	uint64_t v, version;
	int rc = -EINVAL;

	memset(out, 0, sizeof(*out));
	if (!tok) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	o = json_tokener_parse_ex(tok, text, (int)strnlen(text, 65536));
	if (!o || json_tokener_get_error(tok) != json_tokener_success ||
	    !json_object_is_type(o, json_type_object)) {
		snprintf(err, errlen, "not a JSON object");
		goto out;
	}
	if (get_u64(o, "version", UINT32_MAX, &version, err, errlen) < 0)
		goto out;
	if (version != STATE_VERSION) {
		snprintf(err, errlen, "record version %llu, this nvmfuse reads %d",
			 (unsigned long long)version, STATE_VERSION);
		goto out;
	}
	if (get_u64(o, "dev_id", (1u << 20) - 1, &v, err, errlen) < 0)	/* the kernel's limit */
		goto out;
	out->dev_id = (uint32_t)v;
	if (get_str(o, "owner", out->owner, sizeof(out->owner), err, errlen) < 0 ||
	    get_str(o, "subnqn", out->subnqn, sizeof(out->subnqn), err, errlen) < 0)
		goto out;
	if (strncmp(out->owner, "nvme", 4) || strchr(out->owner, '/')) {
		snprintf(err, errlen, "'owner' is not a daemon name");
		goto out;
	}
	if (get_u64(o, "nsid", 0xfffffffe, &v, err, errlen) < 0)
		goto out;
	if (!v) {
		snprintf(err, errlen, "'nsid' is 0");
		goto out;
	}
	out->ns.nsid = (uint32_t)v;
	if (get_u64(o, "nsze", UINT64_MAX >> 12, &out->ns.nsze, err, errlen) < 0 ||
	    get_u64(o, "lba_size", 1u << 16, &v, err, errlen) < 0)
		goto out;
	out->ns.lba_size = (uint32_t)v;
	if (get_u64(o, "ms", UINT16_MAX, &v, err, errlen) < 0)
		goto out;
	out->ns.ms = (uint16_t)v;
	if (get_u64(o, "csi", UINT8_MAX, &v, err, errlen) < 0)
		goto out;
	out->ns.csi = (uint8_t)v;
	if (get_hex(o, "eui64", out->ns.eui64, sizeof(out->ns.eui64), err, errlen) < 0 ||
	    get_hex(o, "nguid", out->ns.nguid, sizeof(out->ns.nguid), err, errlen) < 0 ||
	    get_hex(o, "uuid", out->ns.uuid, sizeof(out->ns.uuid), err, errlen) < 0)
		goto out;
	rc = 0;
out:
	json_object_put(o);
	json_tokener_free(tok);
	return rc;
}

static bool zero(const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

/* "UUID 0123... (was 4567...)" for the first identifier that differs. */
static bool id_differs(const char *what, const uint8_t *was, const uint8_t *now, size_t n,
		       char *why, size_t len)
{
	char a[33], b[33];

	if (!memcmp(was, now, n))
		return false;
	hex(a, now, n);
	hex(b, was, n);
	snprintf(why, len, "identity: namespace %s is %s, the disk's was %s", what,
		 zero(now, n) ? "none" : a, zero(was, n) ? "none" : b);
	return true;
}

bool state_ns_same(const struct nvmf_ns *was, const struct nvmf_ns *now, char *why, size_t len)
{
	if (nvmf_ns_same(was, now))
		return true;
	if (was->nsid != now->nsid)
		snprintf(why, len, "namespace ID %u, the disk's was %u", now->nsid, was->nsid);
	else if (was->nsze != now->nsze || was->lba_size != now->lba_size)
		snprintf(why, len, "size: namespace %u is now %llu blocks of %u bytes, the disk "
			 "was %llu blocks of %u bytes", now->nsid, (unsigned long long)now->nsze,
			 now->lba_size, (unsigned long long)was->nsze, was->lba_size);
	else if (was->ms != now->ms || was->csi != now->csi)
		snprintf(why, len, "format: namespace %u now has %u metadata bytes and command set "
			 "%u, the disk had %u and %u", now->nsid, now->ms, now->csi, was->ms,
			 was->csi);
	else if (!id_differs("UUID", was->uuid, now->uuid, 16, why, len) &&
		 !id_differs("NGUID", was->nguid, now->nguid, 16, why, len) &&
		 !id_differs("EUI-64", was->eui64, now->eui64, 8, why, len))
		snprintf(why, len, "namespace %u differs", now->nsid);
	return false;
}

/* ------------------------------------------------------------- run dir */

/* Write @text to RUNDIR/@file whole: a temporary file, then rename. */
static int write_whole(const char *file, const char *text)
{
	char path[512], tmp[520];
	size_t len = strlen(text);
	int fd, rc = 0;

	if (mkdir(reg_rundir(), 0755) < 0 && errno != EEXIST)
		return -errno;
	snprintf(path, sizeof(path), "%s/%s", reg_rundir(), file);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (write(fd, text, len) != (ssize_t)len || write(fd, "\n", 1) != 1)
		rc = errno ? -errno : -EIO;
	if (close(fd) < 0 && !rc)
		rc = -errno;
	if (!rc && rename(tmp, path) < 0)
		rc = -errno;
	if (rc)
		unlink(tmp);
	return rc;
}

/* RUNDIR/@file's text (malloc'd), at most 64 KiB. */
static int read_whole(const char *file, char **out)
{
	char path[512], *buf;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", reg_rundir(), file);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	buf = malloc(65536);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	n = read(fd, buf, 65535);
	close(fd);
	if (n < 0) {
		free(buf);
		return -errno;
	}
	buf[n] = 0;
	*out = buf;
	return 0;
}

static void remove_file(const char *file)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", reg_rundir(), file);
	if (unlink(path) < 0 && errno != ENOENT)
		nvmf_warn("cannot remove %s: %s", path, strerror(errno));
}

int state_disk_save(const struct state_disk *s)
{
	char file[32], *text = state_disk_format(s);
	int rc;

	if (!text)
		return -ENOMEM;
	snprintf(file, sizeof(file), "ublk%u.json", s->dev_id);
	rc = write_whole(file, text);
	free(text);
	return rc;
}

void state_disk_remove(uint32_t dev_id)
{
	char file[32];

	snprintf(file, sizeof(file), "ublk%u.json", dev_id);
	remove_file(file);
	snprintf(file, sizeof(file), "ublk%u.lock", dev_id);
	remove_file(file);
}

int state_disk_lock(uint32_t dev_id)
{
	char path[512];
	int fd, rc;

	snprintf(path, sizeof(path), "%s/ublk%u.lock", reg_rundir(), dev_id);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

int state_disks_load(struct state_disk **out, int *n)
{
	DIR *dir = opendir(reg_rundir());
	struct state_disk *v = NULL;
	struct dirent *de;
	int cnt = 0, rc = 0;

	*out = NULL;
	*n = 0;
	if (!dir)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(dir))) {
		struct state_disk s, *bigger;
		char *text, err[200];
		unsigned int id;
		char tail[8];
		int prc;

		if (sscanf(de->d_name, "ublk%u.%7s", &id, tail) != 2 || strcmp(tail, "json"))
			continue;
		if (read_whole(de->d_name, &text) < 0)
			continue;
		prc = state_disk_parse(text, &s, err, sizeof(err));
		free(text);
		if (prc == 0 && s.dev_id != id) {
			snprintf(err, sizeof(err), "it is about ublk%u", s.dev_id);
			prc = -EINVAL;
		}
		if (prc < 0) {
			nvmf_warn("%s/%s: not a disk record (%s): ignored", reg_rundir(), de->d_name,
				  err);
			continue;
		}
		bigger = realloc(v, (size_t)(cnt + 1) * sizeof(*v));
		if (!bigger) {
			rc = -ENOMEM;
			break;
		}
		v = bigger;
		v[cnt++] = s;
	}
	closedir(dir);
	if (rc < 0) {
		free(v);
		return rc;
	}
	*out = v;
	*n = cnt;
	return 0;
}

/* --------------------------------------------------------- daemon record */

static const char *svc_or_default(const char *s)
{
	return s && *s ? s : "4420";
}

int state_daemon_save(const char *name, const struct nvmf_ctrl_opts *o)
{
	struct json_object *j = json_object_new_object();
	char file[REG_NAME_MAX + 8];
	int rc;

	if (!j)
		return -ENOMEM;
	json_object_object_add(j, "version", json_object_new_int(STATE_VERSION));
	json_object_object_add(j, "name", json_object_new_string(name));
	json_object_object_add(j, "pid", json_object_new_int((int)getpid()));
	json_object_object_add(j, "subnqn", json_object_new_string(o->subnqn));
	json_object_object_add(j, "transport", json_object_new_string(o->transport));
	json_object_object_add(j, "traddr", json_object_new_string(o->traddr));
	json_object_object_add(j, "trsvcid", json_object_new_string(svc_or_default(o->trsvcid)));
	snprintf(file, sizeof(file), "%s.json", name);
	rc = write_whole(file, json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN |
							      JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(j);
	return rc;
}

void state_daemon_remove(const char *name)
{
	char file[REG_NAME_MAX + 8];

	snprintf(file, sizeof(file), "%s.json", name);
	remove_file(file);
}

static bool str_is(struct json_object *o, const char *key, const char *want)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string) &&
	       !strcmp(json_object_get_string(v), want);
}

int state_daemon_find_dead(const struct nvmf_ctrl_opts *o, char name[REG_NAME_MAX])
{
	DIR *dir = opendir(reg_rundir());
	struct dirent *de;
	int rc = -ENOENT;

	if (!dir)
		return -ENOENT;
	while (rc < 0 && (de = readdir(dir))) {
		size_t len = strlen(de->d_name);
		struct json_object *j;
		char *text;

		if (strncmp(de->d_name, "nvme", 4) || len < 10 || len - 5 >= REG_NAME_MAX ||
		    strcmp(de->d_name + len - 5, ".json") || read_whole(de->d_name, &text) < 0)
			continue;
		j = json_tokener_parse(text);
		free(text);
		if (j && json_object_is_type(j, json_type_object) &&
		    str_is(j, "subnqn", o->subnqn) && str_is(j, "transport", o->transport) &&
		    str_is(j, "traddr", o->traddr) &&
		    str_is(j, "trsvcid", svc_or_default(o->trsvcid))) {
			snprintf(name, REG_NAME_MAX, "%.*s", (int)(len - 5), de->d_name);
			if (str_is(j, "name", name) && reg_is_dead(name))
				rc = 0;
		}
		json_object_put(j);
	}
	closedir(dir);
	return rc;
}
