/* SPDX-License-Identifier: MIT */
/*
 * nvmfuse gen-tls-key / check-tls-key: the TLS PSK interchange format
 * (NVMeTLSkey-1:<hh>:<base64 PSK and CRC-32>:, NVMe/TCP 1.1 section 3.6.1.5)
 * with nvme-cli's options and output: gen-tls-key makes a configured PSK
 * (random, or --secret's hex bytes) for --tls-key, config.json's tls_key
 * and `nvme gen-tls-key`'s users; check-tls-key validates one and prints
 * what nvme check-tls-key prints. The parsing and formatting are
 * host/tls_key.h's, the same code connect uses.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "base/crc32.h"
#include "host/tls_key.h"
#include "tools/cli.h"

int cmd_gen_tls_key(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "secret", required_argument, NULL, 's' },
		{ "hmac", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const char *usage = "usage: nvmfuse gen-tls-key [-s|--secret HEX] [-m|--hmac 1|2]\n"
			    "Prints NVMeTLSkey-1:<hh>:<base64 PSK and CRC>: (32 bytes with --hmac 1,\n"
			    "the default; 48 with 2) for --tls-key and config.json's tls_key.\n";
	const char *secret = NULL;
	uint8_t key[48];
	char out[128];
	long long hmac = 1;
	size_t len;
	int opt, rc = 1;

	while ((opt = getopt_long(argc, argv, "s:m:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 's':
			secret = optarg;
			break;
		case 'm':
			if (cli_parse_int(optarg, "--hmac", 1, 2, &hmac) < 0)
				return 1;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return 1;
		}
	}
	if (cli_no_more_args(argc, argv, optind) < 0)
		return 1;
	len = hmac == 1 ? 32 : 48;	/* the PSK is as long as its hash */
	if (secret) {
		if (cli_parse_hex(secret, "--secret", key, len) < 0)
			goto out;
	} else if (RAND_bytes(key, (int)len) != 1) {
		cli_error("no random bytes (OpenSSL RAND_bytes failed)");
		goto out;
	}
	if (nvmf_tls_key_format(key, len, (int)hmac, out, sizeof(out)) < 0) {
		cli_error("cannot write the key");
		goto out;
	}
	printf("%s\n", out);
	rc = 0;
out:
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(out, sizeof(out));
	return rc;
}

int cmd_check_tls_key(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "key", required_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const char *usage = "usage: nvmfuse check-tls-key -k|--key NVMeTLSkey-1:...\n";
	struct nvmf_tls_configured k;
	char *key = NULL, err[256];
	int opt;

	while ((opt = getopt_long(argc, argv, "k:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'k':
			free(key);
			key = strdup(optarg);
			explicit_bzero(optarg, strlen(optarg));	/* off the command line */
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return 1;
		}
	}
	if (cli_no_more_args(argc, argv, optind) < 0) {
		free(key);
		return 1;
	}
	if (!key) {
		cli_error("no key: use -k/--key");
		return 1;
	}
	if (nvmf_tls_key_parse(key, &k, err, sizeof(err)) < 0) {
		OPENSSL_cleanse(key, strlen(key));
		free(key);
		cli_error("invalid key: %s", err);
		return 1;
	}
	OPENSSL_cleanse(key, strlen(key));
	free(key);
	printf("Key is valid (HMAC %u, length %u, CRC %08x)\n", k.hmac, k.len,
	       nvmf_crc32_ieee(k.key, k.len));
	OPENSSL_cleanse(&k, sizeof(k));
	return 0;
}
