/* SPDX-License-Identifier: MIT */
/*
 * Memory for key material that lives longer than one function: the
 * PSKs, DH-HMAC-CHAP secrets and the strings they come from, held by a
 * daemon for as long as its association may reconnect.
 *
 * Each allocation is a private anonymous mapping of its own, marked
 * MADV_DONTDUMP so that a core dump (or a crash report built from one)
 * does not carry it, and wiped with OPENSSL_cleanse() before it is
 * unmapped. Not MADV_DONTFORK: the command line hands its secrets to the
 * daemons it forks. Not locked: mlock() is bounded by RLIMIT_MEMLOCK,
 * and what is swapped is not dumped.
 *
 * Short-lived copies (a key file's bytes on the stack, a derivation's
 * intermediate values) are wiped by their users where they end instead.
 *
 * Ownership: the caller owns what it gets and gives it back with
 * nvmf_secret_free() (NULL is fine). Thread: any.
 */
#ifndef NVMF_BASE_SECRET_H
#define NVMF_BASE_SECRET_H

#include <stddef.h>

/* @len zeroed bytes excluded from core dumps, or NULL (errno ENOMEM). */
void *nvmf_secret_alloc(size_t len);

/* A copy of @s in such memory, or NULL. */
char *nvmf_secret_strdup(const char *s);

/* Wipe and unmap what nvmf_secret_alloc() or _strdup() returned. */
void nvmf_secret_free(void *p);

#endif
