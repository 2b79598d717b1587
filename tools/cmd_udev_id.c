/* SPDX-License-Identifier: MIT */
/*
 * nvmfuse udev-id: the udev properties of an nvmfuse disk, for the rule in
 * contrib/udev (IMPORT{program}), which makes the same /dev/disk/by-id
 * links the Linux host's 60-persistent-storage.rules makes for its NVMe
 * disks: nvme-WWID, nvme-MODEL_SERIAL and nvme-MODEL_SERIAL_NSID.
 *
 * It asks each daemon of the run dir for its namespaces and prints, for
 * the one whose block device is the argument, KEY=VALUE lines. Values come
 * from the target (serial, model, firmware): anything but printable ASCII,
 * and the quote and backslash udev gives meaning to, becomes '_', so a
 * hostile target cannot add lines or keys. Exits 1, with one line on
 * standard error, when no daemon serves the disk.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "tools/cli.h"
#include "daemon/registry.h"

static void put(const char *key, const char *val)
{
	printf("%s=", key);
	for (const char *p = val; *p; p++)
		putchar(*p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\' ? *p : '_');
	putchar('\n');
}

/* Print @dev's properties if daemon @c serves it; true when it does. */
static bool print_if_served(struct json_object *c, const char *dev)
{
	struct json_object *nss, *ns;
	char nsid[16];

	if (!json_object_object_get_ex(c, "namespaces", &nss) ||
	    !json_object_is_type(nss, json_type_array))
		return false;
	for (size_t i = 0; i < json_object_array_length(nss); i++) {
		ns = json_object_array_get_idx(nss, i);
		if (strcmp(cli_json_str(ns, "block_device"), dev))
			continue;
		snprintf(nsid, sizeof(nsid), "%u",
			 (unsigned int)json_object_get_uint64(json_object_object_get(ns, "nsid")));
		put("ID_SERIAL_SHORT", cli_json_str(c, "serial"));
		put("ID_MODEL", cli_json_str(c, "model"));
		put("ID_REVISION", cli_json_str(c, "firmware"));
		put("ID_NSID", nsid);
		put("ID_WWN", cli_json_str(ns, "wwid"));
		put("NVMFUSE_WWID", cli_json_str(ns, "wwid"));
		put("NVMFUSE_SERIAL", cli_json_str(c, "serial"));
		put("NVMFUSE_MODEL", cli_json_str(c, "model"));
		put("NVMFUSE_NSID", nsid);
		put("NVMFUSE_CTRL", cli_json_str(c, "name"));
		put("NVMFUSE_SUBNQN", cli_json_str(c, "subnqn"));
		put("NVMFUSE_GENERIC", cli_json_str(ns, "device"));
		return true;
	}
	return false;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: nvmfuse udev-id [--run-dir DIR] ublkbN\n");
}

int cmd_udev_id(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_RUN_DIR_LONGOPT,
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	char dev[64], **names;
	const char *arg;
	int opt, n;
	bool found = false;

	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case OPT_RUN_DIR:
			if (cli_run_dir(optarg) < 0)
				return 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 1;
	}
	arg = argv[optind];
	if (!strncmp(arg, "/dev/", 5))
		arg += 5;
	if (strncmp(arg, "ublkb", 5) || !arg[5] || strspn(arg + 5, "0123456789") != strlen(arg + 5) ||
	    strlen(arg) > 20) {
		cli_error("'%s' is not an nvmfuse disk name (ublkbN)", argv[optind]);
		return 1;
	}
	snprintf(dev, sizeof(dev), "/dev/%s", arg);
	if (reg_names(&names, &n) < 0) {
		cli_error("cannot read %s", reg_rundir());
		return 1;
	}
	for (int i = 0; i < n && !found; i++) {
		struct json_object *reply, *c;

		if (cli_ctrl_info(names[i], 5000, &reply, &c))
			continue;
		found = print_if_served(c, dev);
		json_object_put(reply);
	}
	reg_names_free(names, n);
	if (!found) {
		cli_error("no nvmfuse daemon in %s serves %s", reg_rundir(), dev);
		return 1;
	}
	return 0;
}
