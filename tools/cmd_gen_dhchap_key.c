/* SPDX-License-Identifier: MIT */
/*
 * nvmfuse gen-dhchap-key: make a DH-HMAC-CHAP secret in the DHHC-1 format,
 * with nvme-cli's options and output (nvme gen-dhchap-key, nvme-cli 2.x):
 * a random key, or --secret's hex bytes, transformed with the host NQN
 * when --hmac is 1..3 (HMAC(key, NQN || "NVMe-over-Fabrics"): the printed
 * key is the transformed one, and <hh> says which hash made it).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "host/auth.h"
#include "host/hostid.h"
#include "tools/cli.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: nvmfuse gen-dhchap-key [-s|--secret HEX] [-l|--key-length 32|48|64]\n"
		"         [-m|--hmac 0|1|2|3] [-n|--nqn HOSTNQN]\n"
		"Prints DHHC-1:<hh>:<base64 key and CRC>: for --dhchap-secret and\n"
		"--dhchap-ctrl-secret (and nvmet's dhchap_key / dhchap_ctrl_key).\n");
}

int cmd_gen_dhchap_key(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "secret", required_argument, NULL, 's' },
		{ "key-length", required_argument, NULL, 'l' },
		{ "hmac", required_argument, NULL, 'm' },
		{ "nqn", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	static const size_t hash_len[] = { 0, 32, 48, 64 };
	struct nvmf_dhchap_key k = { 0 };
	const char *secret = NULL, *nqn_arg = NULL;
	char *nqn = NULL, out[128];
	uint8_t t[64];
	long long v, key_len = 0, hmac = 0;
	size_t tl;
	int opt, rc = 1;

	while ((opt = getopt_long(argc, argv, "s:l:m:n:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 's':
			secret = optarg;
			break;
		case 'l':
			if (cli_parse_int(optarg, "--key-length", 1, 1024, &v) < 0)
				return 1;
			if (v != 32 && v != 48 && v != 64) {
				cli_error("invalid --key-length %lld: use 32, 48 or 64", v);
				return 1;
			}
			key_len = v;
			break;
		case 'm':
			if (cli_parse_int(optarg, "--hmac", 0, 3, &hmac) < 0)
				return 1;
			break;
		case 'n':
			nqn_arg = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (cli_no_more_args(argc, argv, optind) < 0)
		return 1;
	/* nvme-cli: a transformation makes a key of its hash's length. */
	if (!key_len)
		key_len = hmac ? (long long)hash_len[hmac] : 32;
	if (hmac && (size_t)key_len != hash_len[hmac]) {
		cli_error("--key-length %lld does not fit --hmac %lld: SHA-%d makes %zu bytes", key_len,
			  hmac, hmac == 1 ? 256 : hmac == 2 ? 384 : 512, hash_len[hmac]);
		return 1;
	}
	k.hash = (uint8_t)hmac;
	k.len = (uint8_t)key_len;
	if (secret) {
		if (cli_parse_hex(secret, "--secret", k.key, (size_t)key_len) < 0)
			goto out;
	} else if (RAND_bytes(k.key, (int)key_len) != 1) {
		cli_error("no random bytes (OpenSSL RAND_bytes failed)");
		goto out;
	}
	if (hmac) {
		nqn = nqn_arg ? strdup(nqn_arg) : nvmf_hostid_nqn_from_file();
		if (!nqn) {
			cli_error("--hmac %lld transforms the key with the host NQN: none in %s, use "
				  "--nqn", hmac, NVMF_HOSTNQN_FILE);
			goto out;
		}
		if (nvmf_dhchap_key_transform(&k, nqn, t, &tl) < 0) {
			cli_error("key transformation failed (OpenSSL)");
			goto out;
		}
		memcpy(k.key, t, tl);
		OPENSSL_cleanse(t, sizeof(t));
	}
	if (nvmf_dhchap_key_format(k.key, k.len, k.hash, out, sizeof(out)) < 0) {
		cli_error("cannot write the key");
		goto out;
	}
	printf("%s\n", out);
	OPENSSL_cleanse(out, sizeof(out));
	rc = 0;
out:
	nvmf_dhchap_key_clear(&k);
	free(nqn);
	return rc;
}
