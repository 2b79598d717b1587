/* SPDX-License-Identifier: MIT */
/* The sidecar's config.json: see daemon/sidecar_config.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sys/stat.h>

#include <json-c/json.h>
#include <nvme/types.h>

#include "base/secret.h"
#include "daemon/sidecar_config.h"

#define SC_DEPTH 8		/* object > hosts > host > subsystems > subsys > ports > port */
#define SC_TRADDR_MAX 255	/* the discovery log entry's TRADDR field, less a NUL */

/* Parsing state: the file name and the error buffer, for messages. */
struct sc_parse {
	unsigned int flags;	/* SC_CONFIG_* */
	const char *file;
	char *err;
	size_t errlen;
};

static int fail(struct sc_parse *p, int rc, const char *where, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* "FILE: WHERE: message"; returns @rc. */
static int fail(struct sc_parse *p, int rc, const char *where, const char *fmt, ...)
{
	char msg[300];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (where && *where)
		snprintf(p->err, p->errlen, "%s: %s: %s", p->file, where, msg);
	else
		snprintf(p->err, p->errlen, "%s: %s", p->file, msg);
	return rc;
}


/* "null" for a null member (json-c's NULL), else its type. */
static const char *type_name(struct json_object *v)
{
	return json_type_to_name(json_object_get_type(v));
}

/*
 * Is there a member named @key in @o? Its value in *@v (NULL for a null
 * value), its path "@where.@key" in @path.
 */
static bool member(struct json_object *o, const char *key, const char *where, char *path,
		   size_t pathlen, struct json_object **v)
{
	*v = NULL;
	snprintf(path, pathlen, "%s%s%s", where, *where ? "." : "", key);
	return json_object_object_get_ex(o, key, v);
}

/* "@where.@key" into @out (paths are short: hosts[N].subsystems[N].ports[N].member). */
static void subpath(char *out, size_t len, const char *where, const char *key)
{
	if (snprintf(out, len, "%s.%s", where, key) >= (int)len)
		out[len - 1] = 0;
}

/* A string member: absent (NULL, 0), or a string of 1..@max bytes with no control character. */
static int get_str(struct sc_parse *p, struct json_object *o, const char *key, const char *where,
		   size_t max, bool required, const char **out)
{
	char path[300];
	struct json_object *v;
	const char *s;
	size_t len;

	*out = NULL;
	if (!member(o, key, where, path, sizeof(path), &v)) {
		if (required)
			return fail(p, -EINVAL, path, "missing (a string is required)");
		return 0;
	}
	if (!json_object_is_type(v, json_type_string))
		return fail(p, -EINVAL, path, "a %s, not a string", type_name(v));
	s = json_object_get_string(v);
	len = (size_t)json_object_get_string_len(v);
	if (!len)
		return fail(p, -EINVAL, path, "empty");
	if (len > max)
		return fail(p, -EINVAL, path, "%zu bytes, more than %zu", len, max);
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return fail(p, -EINVAL, path, "has a control character at byte %zu", i);
	*out = s;
	return 0;
}

/* An integer member in [@min, @max]; absent leaves *@out alone. */
static int get_int(struct sc_parse *p, struct json_object *o, const char *key, const char *where,
		   int64_t min, int64_t max, int *out)
{
	char path[300];
	struct json_object *v;
	int64_t n;

	if (!member(o, key, where, path, sizeof(path), &v))
		return 0;
	/* json-c says int for integers beyond int64 too (clamped): check the text. */
	if (!json_object_is_type(v, json_type_int))
		return fail(p, -EINVAL, path, "a %s, not an integer", type_name(v));
	errno = 0;
	n = json_object_get_int64(v);
	if (errno == ERANGE || n < min || n > max)
		return fail(p, -EINVAL, path, "%s is outside %lld..%lld",
			    json_object_to_json_string(v), (long long)min, (long long)max);
	*out = (int)n;
	return 0;
}

static int get_bool(struct sc_parse *p, struct json_object *o, const char *key, const char *where,
		    bool *out)
{
	char path[300];
	struct json_object *v;

	if (!member(o, key, where, path, sizeof(path), &v))
		return 0;
	if (!json_object_is_type(v, json_type_boolean))
		return fail(p, -EINVAL, path, "a %s, not a boolean", type_name(v));
	*out = json_object_get_boolean(v);
	return 0;
}

/* An array member (required); its length in *@n, at most @max. */
static int get_array(struct sc_parse *p, struct json_object *o, const char *key,
		     const char *where, size_t max, struct json_object **out, size_t *n)
{
	char path[300];
	struct json_object *v;

	if (!member(o, key, where, path, sizeof(path), &v))
		return fail(p, -EINVAL, path, "missing (an array is required)");
	if (!json_object_is_type(v, json_type_array))
		return fail(p, -EINVAL, path, "a %s, not an array", type_name(v));
	*n = json_object_array_length(v);
	if (*n > max)
		return fail(p, -E2BIG, path, "%zu entries, more than %zu", *n, max);
	*out = v;
	return 0;
}

/*
 * Every member of @o must be in @known (accepted) or @unsupported (in the
 * schema, refused by name); anything else is unknown.
 */
static int check_keys(struct sc_parse *p, struct json_object *o, const char *where,
		      const char *const *known, const char *const *unsupported)
{
	json_object_object_foreach(o, key, val) {
		bool ok = false;

		(void)val;
		for (int i = 0; known[i] && !ok; i++)
			ok = !strcmp(key, known[i]);
		if (ok)
			continue;
		for (int i = 0; unsupported[i]; i++)
			if (!strcmp(key, unsupported[i]))
				return fail(p, -EOPNOTSUPP, where, "'%s' is not supported by nvmfuse "
					    "(remove it, or connect this controller otherwise)", key);
		{
			/* The key is the file's: no control character reaches the message. */
			char shown[65];
			size_t i = 0;

			for (; key[i] && i < sizeof(shown) - 1; i++)
				shown[i] = (unsigned char)key[i] < 0x20 || key[i] == 0x7f ? '?' : key[i];
			shown[i] = 0;
			return fail(p, -EINVAL, where, "unknown member '%s'", shown);
		}
	}
	return 0;
}

/* A UUID in its text form (8-4-4-4-12 hex digits). */
static bool is_uuid(const char *s)
{
	if (strlen(s) != 36)
		return false;
	for (int i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? s[i] != '-' : !((s[i] >= '0' && s[i] <= '9') ||
					   (s[i] >= 'a' && s[i] <= 'f') ||
					   (s[i] >= 'A' && s[i] <= 'F')))
			return false;
	}
	return true;
}

/* A TCP/RDMA service id: a decimal port 1..65535, no sign, no leading zero. */
static bool is_port(const char *s)
{
	unsigned long v = 0;

	if (!*s || *s == '0' || strlen(s) > 5)
		return false;
	for (const char *c = s; *c; c++) {
		if (*c < '0' || *c > '9')
			return false;
		v = v * 10 + (unsigned long)(*c - '0');
	}
	return v <= 65535;
}

static const char *const no_keys[] = { NULL };

/*
 * An optional DH-HMAC-CHAP secret member: a DHHC-1 string (checked in full
 * when connecting). Messages never quote the value.
 */
static int get_secret(struct sc_parse *p, struct json_object *o, const char *key,
		      const char *where, const char **out)
{
	const char *v = NULL, *keep = *out;
	char path[300];
	int rc;

	rc = get_str(p, o, key, where, 128, false, &v);
	if (rc)
		return rc;
	if (!v) {
		*out = keep;	/* not given: the host entry's stays */
		return 0;
	}
	if (strncmp(v, "DHHC-1:", 7)) {
		subpath(path, sizeof(path), where, key);
		return fail(p, -EINVAL, path, "not a DHHC-1 secret (nvme gen-dhchap-key writes one)");
	}
	*out = v;
	return 0;
}

static int parse_port(struct sc_parse *p, struct json_object *port, const char *where,
		      struct sc_ctrl_cfg *c)
{
	static const char *const known[] = {
		"transport", "traddr", "trsvcid", "nr_io_queues", "nr_poll_queues", "queue_size",
		"keep_alive_tmo", "reconnect_delay", "ctrl_loss_tmo", "fast_io_fail_tmo",
		"hdr_digest", "data_digest", "disable_sqflow", "persistent", "optional",
		"tls", "tls_key", "keyring", "tls_key_identity", "dhchap_key", "dhchap_ctrl_key",
		"host_traddr", "host_iface", "nr_write_queues", "tos", "duplicate_connect", NULL
	};
	static const char *const unsupported[] = { "discovery", "concat", NULL };
	char path[300];
	bool persistent = false;
	int rc;

	if (!json_object_is_type(port, json_type_object))
		return fail(p, -EINVAL, where, "a %s, not an object", type_name(port));
	rc = check_keys(p, port, where, known, unsupported);
	if (rc)
		return rc;
	rc = get_str(p, port, "transport", where, 16, true, &c->transport);
	if (rc)
		return rc;
	if (strcmp(c->transport, "tcp") && strcmp(c->transport, "rdma")) {
		subpath(path, sizeof(path), where, "transport");
		return fail(p, -EINVAL, path, "'%s' is neither tcp nor rdma", c->transport);
	}
	rc = get_str(p, port, "traddr", where, SC_TRADDR_MAX, true, &c->traddr);
	if (rc)
		return rc;
	rc = get_str(p, port, "trsvcid", where, 32, false, &c->trsvcid);
	if (rc)
		return rc;
	if (!c->trsvcid) {
		/* nvme-cli's defaults: a discovery controller over TCP is on 8009. */
		c->trsvcid = c->discovery && !strcmp(c->transport, "tcp") ? "8009" : "4420";
	} else if (!is_port(c->trsvcid)) {
		subpath(path, sizeof(path), where, "trsvcid");
		return fail(p, -EINVAL, path, "'%s' is not a port number (1..65535)", c->trsvcid);
	}
	/* The ranges of the connect flags of the same names (tools/cli.c, cmd_connect.c). */
	if ((rc = get_int(p, port, "nr_io_queues", where, 0, 128, &c->nr_io_queues)) ||
	    (rc = get_int(p, port, "nr_poll_queues", where, 0, 128, &c->nr_poll_queues)) ||
	    (rc = get_int(p, port, "nr_write_queues", where, 0, 128, &c->nr_write_queues)) ||
	    (rc = get_int(p, port, "tos", where, -1, 255, &c->tos)) ||
	    (rc = get_bool(p, port, "duplicate_connect", where, &c->duplicate_connect)) ||
	    (rc = get_int(p, port, "queue_size", where, 2, 1024, &c->queue_size)) ||
	    (rc = get_int(p, port, "keep_alive_tmo", where, 0, 3600, &c->keep_alive_tmo)) ||
	    (rc = get_int(p, port, "reconnect_delay", where, 1, 3600, &c->reconnect_delay)) ||
	    (rc = get_int(p, port, "ctrl_loss_tmo", where, -1, 86400 * 365, &c->ctrl_loss_tmo)) ||
	    (rc = get_int(p, port, "fast_io_fail_tmo", where, -1, 86400, &c->fast_io_fail_tmo)) ||
	    (rc = get_bool(p, port, "hdr_digest", where, &c->hdr_digest)) ||
	    (rc = get_bool(p, port, "data_digest", where, &c->data_digest)) ||
	    (rc = get_bool(p, port, "disable_sqflow", where, &c->disable_sqflow)) ||
	    (rc = get_bool(p, port, "persistent", where, &persistent)) ||
	    (rc = get_bool(p, port, "optional", where, &c->optional)) ||
	    (rc = get_bool(p, port, "tls", where, &c->tls)) ||
	    (rc = get_secret(p, port, "dhchap_key", where, &c->dhchap_key)) ||
	    (rc = get_secret(p, port, "dhchap_ctrl_key", where, &c->dhchap_ctrl_key)))
		return rc;
	if (c->nr_io_queues == 0 && (c->nr_poll_queues == SC_UNSET || c->nr_poll_queues == 0)) {
		subpath(path, sizeof(path), where, "nr_io_queues");
		return fail(p, -EINVAL, path, "0 needs nr_poll_queues 1 or more (no I/O queue)");
	}
	/* The key is checked (CRC, length) when it is used; never quoted here. */
	rc = get_str(p, port, "tls_key", where, 128, false, &c->tls_key);
	if (rc)
		return rc;
	if (c->tls_key && strncmp(c->tls_key, "NVMeTLSkey-1:", 13)) {
		subpath(path, sizeof(path), where, "tls_key");
		return fail(p, -EINVAL, path, "not in the PSK interchange format "
			    "(NVMeTLSkey-1:<hh>:<base64>:)");
	}
	/* Checked for form when used (an address this host has, an interface name). */
	if ((rc = get_str(p, port, "host_traddr", where, SC_TRADDR_MAX, false, &c->host_traddr)) ||
	    (rc = get_str(p, port, "host_iface", where, 15, false, &c->host_iface)))
		return rc;
	if (c->host_iface && strcmp(c->transport, "tcp")) {
		subpath(path, sizeof(path), where, "host_iface");
		return fail(p, -EINVAL, path, "binding an interface is for transport tcp only");
	}
	if ((rc = get_str(p, port, "keyring", where, 256, false, &c->keyring)) ||
	    (rc = get_str(p, port, "tls_key_identity", where, 600, false, &c->tls_key_identity)))
		return rc;
	if ((c->tls || c->tls_key || c->keyring || c->tls_key_identity) &&
	    strcmp(c->transport, "tcp")) {
		subpath(path, sizeof(path), where, "tls");
		return fail(p, -EINVAL, path, "TLS is for transport tcp only");
	}
	return 0;
}

static int parse_subsystem(struct sc_parse *p, struct json_object *ss, const char *where,
			   const struct sc_ctrl_cfg *host, struct sc_config *cfg)
{
	static const char *const known[] = { "nqn", "ports", "optional", NULL };
	static const char *const unsupported[] = { "dhchap_key", "application", NULL };
	struct json_object *ports;
	const char *nqn;
	bool optional = false;
	size_t n;
	int rc;

	if (!json_object_is_type(ss, json_type_object))
		return fail(p, -EINVAL, where, "a %s, not an object", type_name(ss));
	rc = check_keys(p, ss, where, known, unsupported);
	if (rc)
		return rc;
	rc = get_str(p, ss, "nqn", where, NVMF_NQN_SIZE, true, &nqn);
	if (rc)
		return rc;
	if (!strcmp(nqn, NVME_DISC_SUBSYS_NAME) && !(p->flags & SC_CONFIG_DISCOVERY)) {
		char path[300];

		subpath(path, sizeof(path), where, "nqn");
		return fail(p, -EINVAL, path, "%s is the discovery subsystem, not a subsystem "
			    "with namespaces", nqn);
	}
	rc = get_bool(p, ss, "optional", where, &optional);
	if (rc)
		return rc;
	rc = get_array(p, ss, "ports", where, SC_CONFIG_CTRLS_MAX, &ports, &n);
	if (rc)
		return rc;
	if (!n) {
		char path[300];

		subpath(path, sizeof(path), where, "ports");
		return fail(p, -EINVAL, path, "empty: a subsystem needs a port to connect to");
	}
	for (size_t i = 0; i < n; i++) {
		struct sc_ctrl_cfg *c;
		char path[300];

		if (cfg->nr_ctrls >= SC_CONFIG_CTRLS_MAX)
			return fail(p, -E2BIG, "", "more than %d controllers (port entries)",
				    SC_CONFIG_CTRLS_MAX);
		c = &cfg->ctrls[cfg->nr_ctrls];
		*c = *host;
		c->subnqn = nqn;
		c->optional = optional;
		c->discovery = !strcmp(nqn, NVME_DISC_SUBSYS_NAME);
		if (snprintf(path, sizeof(path), "%s.ports[%zu]", where, i) >= (int)sizeof(path))
			return fail(p, -E2BIG, where, "nested too deep");
		rc = parse_port(p, json_object_array_get_idx(ports, i), path, c);
		if (rc)
			return rc;
		for (int j = 0; j < cfg->nr_ctrls; j++) {
			const struct sc_ctrl_cfg *o = &cfg->ctrls[j];

			if (!strcmp(o->subnqn, c->subnqn) && !strcmp(o->transport, c->transport) &&
			    !strcmp(o->traddr, c->traddr) && !strcmp(o->trsvcid, c->trsvcid))
				return fail(p, -EINVAL, path, "%s at %s %s:%s is listed twice", nqn,
					    c->transport, c->traddr, c->trsvcid);
		}
		cfg->nr_ctrls++;
	}
	return 0;
}

static int parse_host(struct sc_parse *p, struct json_object *h, int index, const char *where,
		      struct sc_config *cfg)
{
	static const char *const known[] = { "hostnqn", "hostid", "hostsymname", "subsystems",
					     "dhchap_key", NULL };
	struct sc_ctrl_cfg host = {
		.host = index,
		.nr_io_queues = SC_UNSET, .nr_poll_queues = SC_UNSET, .queue_size = SC_UNSET,
		.nr_write_queues = SC_UNSET, .tos = SC_UNSET,
		.keep_alive_tmo = SC_UNSET,
		.reconnect_delay = SC_UNSET, .ctrl_loss_tmo = SC_UNSET, .fast_io_fail_tmo = SC_UNSET,
	};
	struct json_object *subs;
	const char *sym;
	size_t n;
	int rc;

	if (!json_object_is_type(h, json_type_object))
		return fail(p, -EINVAL, where, "a %s, not an object", type_name(h));
	rc = check_keys(p, h, where, known, no_keys);
	if (rc)
		return rc;
	if ((rc = get_str(p, h, "hostnqn", where, NVMF_NQN_SIZE, false, &host.hostnqn)) ||
	    (rc = get_str(p, h, "hostid", where, 36, false, &host.hostid)) ||
	    (rc = get_str(p, h, "hostsymname", where, 256, false, &sym)) ||
	    (rc = get_secret(p, h, "dhchap_key", where, &host.dhchap_key)))
		return rc;
	if (host.hostid && !is_uuid(host.hostid)) {
		char path[300];

		subpath(path, sizeof(path), where, "hostid");
		return fail(p, -EINVAL, path, "'%s' is not a UUID", host.hostid);
	}
	rc = get_array(p, h, "subsystems", where, SC_CONFIG_CTRLS_MAX, &subs, &n);
	if (rc)
		return rc;
	for (size_t i = 0; i < n; i++) {
		char path[300];

		snprintf(path, sizeof(path), "%s.subsystems[%zu]", where, i);
		rc = parse_subsystem(p, json_object_array_get_idx(subs, i), path, &host, cfg);
		if (rc)
			return rc;
	}
	return 0;
}

/* The secret members of @c, for take_secrets(). */
static void secret_fields(struct sc_ctrl_cfg *c, const char **f[3])
{
	f[0] = &c->tls_key;
	f[1] = &c->dhchap_key;
	f[2] = &c->dhchap_ctrl_key;
}

/*
 * Move the secrets out of the JSON tree, which lives as long as the
 * sidecar: each distinct string into memory left out of core dumps, every
 * member that pointed at it re-pointed, and its bytes in the tree wiped.
 * 0 or -ENOMEM.
 */
static int take_secrets(struct sc_config *cfg)
{
	cfg->secrets = calloc((size_t)cfg->nr_ctrls * 3, sizeof(*cfg->secrets));
	if (!cfg->secrets)
		return -ENOMEM;
	for (int i = 0; i < cfg->nr_ctrls; i++) {
		const char **f[3];

		secret_fields(&cfg->ctrls[i], f);
		for (int k = 0; k < 3; k++) {
			const char *orig = *f[k];
			char *copy;
			bool taken = false;

			for (int s = 0; orig && s < cfg->nr_secrets; s++)
				taken |= cfg->secrets[s] == orig;
			if (!orig || taken)
				continue;
			copy = nvmf_secret_strdup(orig);
			if (!copy)
				return -ENOMEM;
			cfg->secrets[cfg->nr_secrets++] = copy;
			/* Earlier controllers sharing it were re-pointed when they came. */
			for (int j = i; j < cfg->nr_ctrls; j++) {
				const char **g[3];

				secret_fields(&cfg->ctrls[j], g);
				for (int m = 0; m < 3; m++)
					if (*g[m] == orig)
						*g[m] = copy;
			}
			explicit_bzero((char *)orig, strlen(orig));
		}
	}
	return 0;
}

int sc_config_parse(const char *buf, size_t len, const char *file, struct sc_config *cfg,
		    char *err, size_t errlen)
{
	return sc_config_parse_flags(buf, len, file, 0, cfg, err, errlen);
}

int sc_config_parse_flags(const char *buf, size_t len, const char *file, unsigned int flags,
			  struct sc_config *cfg, char *err, size_t errlen)
{
	struct sc_parse p = { .flags = flags, .file = file, .err = err, .errlen = errlen };
	struct json_tokener *tok;
	struct json_object *root, *hosts;
	enum json_tokener_error jerr;
	size_t n, end;
	int rc;

	memset(cfg, 0, sizeof(*cfg));
	if (len > SC_CONFIG_FILE_MAX)
		return fail(&p, -E2BIG, "", "%zu bytes, more than %d", len, SC_CONFIG_FILE_MAX);
	if (memchr(buf, 0, len))
		return fail(&p, -EBADMSG, "", "not JSON: a NUL byte at %zu",
			    (size_t)((const char *)memchr(buf, 0, len) - buf));
	tok = json_tokener_new_ex(SC_DEPTH);
	if (!tok)
		return fail(&p, -ENOMEM, "", "out of memory");
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	root = json_tokener_parse_ex(tok, buf, (int)len);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (!root) {
		if (jerr == json_tokener_continue || jerr == json_tokener_success)
			return fail(&p, -EBADMSG, "", "not JSON: it ends in the middle");
		return fail(&p, -EBADMSG, "", "not JSON: %s at byte %zu",
			    json_tokener_error_desc(jerr), end);
	}
	for (; end < len; end++) {
		if (!strchr(" \t\r\n", buf[end])) {
			json_object_put(root);
			return fail(&p, -EBADMSG, "", "not JSON: something after the end at byte %zu",
				    end);
		}
	}
	cfg->root = root;
	if (json_object_is_type(root, json_type_array)) {
		hosts = root;		/* nvme_dump_config's form */
		n = json_object_array_length(root);
		if (n > SC_CONFIG_CTRLS_MAX) {
			rc = fail(&p, -E2BIG, "hosts", "%zu entries, more than %d", n,
				  SC_CONFIG_CTRLS_MAX);
			goto out;
		}
	} else if (json_object_is_type(root, json_type_object)) {
		static const char *const known[] = { "hosts", NULL };

		rc = check_keys(&p, root, "", known, no_keys);
		if (rc)
			goto out;
		rc = get_array(&p, root, "hosts", "", SC_CONFIG_CTRLS_MAX, &hosts, &n);
		if (rc)
			goto out;
	} else {
		rc = fail(&p, -EINVAL, "", "a JSON %s, not an object with \"hosts\"",
			  type_name(root));
		goto out;
	}
	cfg->ctrls = calloc(SC_CONFIG_CTRLS_MAX, sizeof(*cfg->ctrls));
	if (!cfg->ctrls) {
		rc = fail(&p, -ENOMEM, "", "out of memory");
		goto out;
	}
	cfg->nr_hosts = (int)n;
	for (size_t i = 0; i < n; i++) {
		char path[64];

		snprintf(path, sizeof(path), "hosts[%zu]", i);
		rc = parse_host(&p, json_object_array_get_idx(hosts, i), (int)i, path, cfg);
		if (rc)
			goto out;
	}
	if (!cfg->nr_ctrls) {
		rc = fail(&p, -EINVAL, "", "no controller: no host lists a subsystem with a port");
		goto out;
	}
	if (take_secrets(cfg) < 0) {
		rc = fail(&p, -ENOMEM, "", "out of memory");
		goto out;
	}
	return 0;
out:
	sc_config_free(cfg);
	return rc;
}

int sc_config_load(const char *path, struct sc_config *cfg, char *err, size_t errlen)
{
	return sc_config_load_flags(path, 0, cfg, err, errlen);
}

int sc_config_load_flags(const char *path, unsigned int flags, struct sc_config *cfg, char *err,
			 size_t errlen)
{
	size_t cap = SC_CONFIG_FILE_MAX + 1, got = 0;
	struct stat st;
	char *buf;
	int fd, rc;

	memset(cfg, 0, sizeof(*cfg));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		return rc;
	}
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		close(fd);
		return rc;
	}
	buf = malloc(cap);
	if (!buf) {
		close(fd);
		snprintf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	while (got < cap) {
		ssize_t n = read(fd, buf + got, cap - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			snprintf(err, errlen, "%s: %s", path, strerror(-rc));
			free(buf);
			close(fd);
			return rc;
		}
		if (!n)
			break;
		got += (size_t)n;
	}
	rc = sc_config_parse_flags(buf, got, path, flags, cfg, err, errlen);
	explicit_bzero(buf, got);	/* it may hold secrets */
	free(buf);
	close(fd);
	/* A secret lying open is refused, as for --tls-key files. */
	for (int i = 0; rc == 0 && i < cfg->nr_ctrls; i++) {
		const struct sc_ctrl_cfg *c = &cfg->ctrls[i];

		if ((c->tls_key || c->dhchap_key || c->dhchap_ctrl_key) &&
		    (st.st_mode & (S_IRWXG | S_IRWXO))) {
			snprintf(err, errlen, "%s holds secrets (%s) but is accessible by group or "
				 "others (mode %03o): chmod 600 it", path,
				 c->tls_key ? "tls_key" : "DH-HMAC-CHAP keys",
				 (unsigned int)(st.st_mode & 0777));
			sc_config_free(cfg);
			rc = -EACCES;
		}
	}
	return rc;
}

void sc_config_free(struct sc_config *cfg)
{
	for (int i = 0; i < cfg->nr_secrets; i++)
		nvmf_secret_free(cfg->secrets[i]);	/* wipes it */
	free(cfg->secrets);
	free(cfg->ctrls);
	json_object_put(cfg->root);
	memset(cfg, 0, sizeof(*cfg));
}

/* ------------------------------------------------------------- writing */

/* The port members a daemon's "config" object may carry, and their JSON types. */
static const struct {
	const char *key;
	enum json_type type;
} port_members[] = {
	{ "nr_io_queues", json_type_int }, { "nr_poll_queues", json_type_int },
	{ "queue_size", json_type_int }, { "keep_alive_tmo", json_type_int },
	{ "reconnect_delay", json_type_int }, { "ctrl_loss_tmo", json_type_int },
	{ "fast_io_fail_tmo", json_type_int }, { "hdr_digest", json_type_boolean },
	{ "data_digest", json_type_boolean }, { "disable_sqflow", json_type_boolean },
	{ "tls", json_type_boolean }, { "keyring", json_type_string },
	{ "tls_key_identity", json_type_string },
};

/* String member @key of @o, or NULL when absent or not a string. */
static const char *str_member(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* The element of array @arr whose string member @key is @want (NULL matches absent), or NULL. */
static struct json_object *find_by(struct json_object *arr, const char *key, const char *want,
				   const char *key2, const char *want2)
{
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		struct json_object *e = json_object_array_get_idx(arr, i);
		const char *a = str_member(e, key), *b = key2 ? str_member(e, key2) : NULL;

		if (((!a && !want) || (a && want && !strcmp(a, want))) &&
		    (!key2 || (!b && !want2) || (b && want2 && !strcmp(b, want2))))
			return e;
	}
	return NULL;
}

/* The entry of @cfg for this controller (same host NQN when both name one), or NULL. */
static const struct sc_ctrl_cfg *cfg_match(const struct sc_config *cfg, const char *hostnqn,
					   const char *subnqn, const char *transport,
					   const char *traddr, const char *trsvcid)
{
	for (int i = 0; cfg && i < cfg->nr_ctrls; i++) {
		const struct sc_ctrl_cfg *c = &cfg->ctrls[i];

		if (!strcmp(c->subnqn, subnqn) && !strcmp(c->transport, transport) &&
		    !strcmp(c->traddr, traddr) && !strcmp(c->trsvcid, trsvcid) &&
		    (!c->hostnqn || !hostnqn || !strcmp(c->hostnqn, hostnqn)))
			return c;
	}
	return NULL;
}

/* Add string member @key = @v to @o unless @v is NULL; false when out of memory. */
static bool add_str(struct json_object *o, const char *key, const char *v)
{
	struct json_object *s;

	if (!v)
		return true;
	s = json_object_new_string(v);
	return s && !json_object_object_add(o, key, s);
}

/* Add @obj to array @arr (consumed); false when out of memory. */
static bool add_to(struct json_object *arr, struct json_object *obj)
{
	if (!obj)
		return false;
	if (json_object_array_add(arr, obj) < 0) {
		json_object_put(obj);
		return false;
	}
	return true;
}

/* Add an empty array member @key to @o, in *@arr; false when out of memory. */
static bool add_array(struct json_object *o, const char *key, struct json_object **arr)
{
	*arr = json_object_new_array();
	if (!*arr)
		return false;
	if (json_object_object_add(o, key, *arr)) {
		json_object_put(*arr);
		return false;
	}
	return true;
}

/* Does @ports have a port at this address already (two daemons, one controller: -D)? */
static bool port_listed(struct json_object *ports, const char *transport, const char *traddr,
			const char *trsvcid)
{
	for (size_t i = 0; i < json_object_array_length(ports); i++) {
		struct json_object *p = json_object_array_get_idx(ports, i);

		if (!strcmp(str_member(p, "transport"), transport) &&
		    !strcmp(str_member(p, "traddr"), traddr) &&
		    !strcmp(str_member(p, "trsvcid"), trsvcid))
			return true;
	}
	return false;
}

/*
 * The port object for controller @c: its address, the members of its
 * "config" object that the schema has (type-checked: the object comes
 * from a daemon), and the secrets of @secret, if any. NULL when out of memory.
 */
static struct json_object *port_json(struct json_object *c, const struct sc_ctrl_cfg *secret)
{
	struct json_object *port = json_object_new_object(), *conf = NULL, *v;
	bool ok = port;

	ok = ok && add_str(port, "transport", str_member(c, "transport")) &&
	     add_str(port, "traddr", str_member(c, "traddr")) &&
	     add_str(port, "trsvcid", str_member(c, "trsvcid"));
	if (ok && json_object_object_get_ex(c, "config", &conf) &&
	    json_object_is_type(conf, json_type_object)) {
		for (size_t i = 0; ok && i < sizeof(port_members) / sizeof(port_members[0]); i++) {
			if (!json_object_object_get_ex(conf, port_members[i].key, &v) ||
			    !json_object_is_type(v, port_members[i].type))
				continue;
			/* A copy, not a reference: the result outlives the replies. */
			if (port_members[i].type == json_type_int)
				v = json_object_new_int64(json_object_get_int64(v));
			else if (port_members[i].type == json_type_boolean)
				v = json_object_new_boolean(json_object_get_boolean(v));
			else
				v = json_object_new_string(json_object_get_string(v));
			ok = v && !json_object_object_add(port, port_members[i].key, v);
		}
	}
	if (ok && secret)
		ok = add_str(port, "dhchap_key", secret->dhchap_key) &&
		     add_str(port, "dhchap_ctrl_key", secret->dhchap_ctrl_key) &&
		     add_str(port, "tls_key", secret->tls_key);
	if (!ok) {
		json_object_put(port);
		return NULL;
	}
	return port;
}

int sc_config_build(struct json_object *const *ctrls, int n, const struct sc_config *secrets,
		    struct json_object **out, int *no_secret, char *err, size_t errlen)
{
	struct json_object *hosts = json_object_new_array();

	*out = NULL;
	*no_secret = 0;
	if (!hosts)
		goto oom;
	for (int i = 0; i < n; i++) {
		struct json_object *c = ctrls[i], *host, *subs, *ss, *ports, *v;
		const char *name = str_member(c, "name"), *subnqn = str_member(c, "subnqn");
		const char *transport = str_member(c, "transport"), *traddr = str_member(c, "traddr");
		const char *trsvcid = str_member(c, "trsvcid"), *hostnqn = str_member(c, "hostnqn");
		const char *hostid = str_member(c, "hostid");
		const struct sc_ctrl_cfg *secret;

		if (!subnqn || !transport || !traddr || !trsvcid) {
			snprintf(err, errlen, "controller %s: its info lacks %s", name ? name : "?",
				 !subnqn ? "subnqn" : !transport ? "transport" :
				 !traddr ? "traddr" : "trsvcid");
			json_object_put(hosts);
			return -EINVAL;
		}
		host = find_by(hosts, "hostnqn", hostnqn, "hostid", hostid);
		if (!host) {
			host = json_object_new_object();
			if (!add_to(hosts, host) || !add_str(host, "hostnqn", hostnqn) ||
			    !add_str(host, "hostid", hostid) || !add_array(host, "subsystems", &subs))
				goto oom;
		} else {
			json_object_object_get_ex(host, "subsystems", &subs);
		}
		ss = find_by(subs, "nqn", subnqn, NULL, NULL);
		if (!ss) {
			ss = json_object_new_object();
			if (!add_to(subs, ss) || !add_str(ss, "nqn", subnqn) ||
			    !add_array(ss, "ports", &ports))
				goto oom;
		} else {
			json_object_object_get_ex(ss, "ports", &ports);
		}
		if (port_listed(ports, transport, traddr, trsvcid))
			continue;	/* a duplicate connection: one entry connects it */
		secret = cfg_match(secrets, hostnqn, subnqn, transport, traddr, trsvcid);
		if (!add_to(ports, port_json(c, secret)))
			goto oom;
		/* Authenticated, and no key to write down: the dump cannot reconnect it. */
		if (json_object_object_get_ex(c, "dhchap", &v) &&
		    json_object_is_type(v, json_type_string) &&
		    (!secret || (!secret->dhchap_key && !secret->dhchap_ctrl_key)))
			(*no_secret)++;
	}
	*out = hosts;
	return 0;
oom:
	json_object_put(hosts);
	snprintf(err, errlen, "out of memory");
	return -ENOMEM;
}
