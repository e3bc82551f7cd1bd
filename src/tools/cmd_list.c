/* kazashi list: readers, what is tapped on each, the tries left. Reading
 * the tries costs none: the module asks the phone when it arrives with a
 * VERIFY that carries no PIN. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdlib.h>
#include <string.h>

#include "tools/commands.h"
#include "tools/exitcode.h"
#include "tools/json.h"
#include "tools/slots.h"

/* One reader: the slots of its two keys. */
typedef struct reader {
	const kc_slot *key[2]; /* [KC_KIND_AUTH], [KC_KIND_SIGN] */
	const kc_slot *any;    /* the first of its slots, for name and model */
} reader;

static size_t group(const kc_slot *slots, size_t n, reader *readers)
{
	size_t count = 0;
	for (size_t i = 0; i < n; i++) {
		size_t r = 0;
		while (r < count && strcmp(readers[r].any->reader, slots[i].reader) != 0)
			r++;
		if (r == count) {
			memset(&readers[count], 0, sizeof(readers[count]));
			readers[count++].any = &slots[i];
		}
		if (slots[i].kind != KC_KIND_OTHER)
			readers[r].key[slots[i].kind] = &slots[i];
		if (slots[i].present && !readers[r].any->present)
			readers[r].any = &slots[i];
	}
	return count;
}

static void print_key(const kc_slot *s, kc_kind kind)
{
	char tries[48] = "unknown";
	if (s != NULL && s->present)
		kc_tries_text(kind, s->flags, tries, sizeof(tries));
	printf("  %-25s %s\n",
	       kind == KC_KIND_AUTH ? "user-authentication PIN:" : "signature password:", tries);
}

static void json_key(kc_json *j, const kc_slot *s, kc_kind kind)
{
	if (s == NULL) {
		kc_json_null(j, kind == KC_KIND_AUTH ? "auth" : "sign");
		return;
	}
	kc_json_object(j, kind == KC_KIND_AUTH ? "auth" : "sign");
	kc_json_int(j, "slot", (long)s->id);
	if (s->present) {
		int min, max;
		kc_tries(kind, s->flags, &min, &max);
		kc_json_int(j, "tries_left_min", min);
		kc_json_int(j, "tries_left_max", max);
		kc_json_bool(j, "blocked", max == 0);
	}
	kc_json_close(j);
}

int kc_cmd_list(kc_module *m, const kc_opts *o)
{
	kc_slot *slots = NULL;
	size_t n = 0;
	CK_RV rv = kc_slots_list(m->f, false, &slots, &n);
	if (rv != CKR_OK)
		return kc_fail(KC_NO_DEVICE, "the module cannot list its readers");
	if (n == 0) {
		free(slots);
		return kc_fail(KC_NO_DEVICE,
		               "no reader: is a reader plugged in and pcscd running?");
	}
	reader *readers = calloc(n, sizeof(*readers));
	if (readers == NULL) {
		free(slots);
		return kc_fail(KC_ERROR, "out of memory");
	}
	size_t count = group(slots, n, readers);
	kc_json j;
	if (o->json) {
		kc_json_begin(&j, stdout);
		kc_json_str(&j, "command", "list");
		kc_json_array(&j, "readers");
	}
	for (size_t r = 0; r < count; r++) {
		const kc_slot *any = readers[r].any;
		if (o->json) {
			kc_json_object(&j, NULL);
			kc_json_str(&j, "reader", any->reader);
			kc_json_bool(&j, "present", any->present);
			if (any->present)
				kc_json_str(&j, "holder", any->model);
			else
				kc_json_null(&j, "holder");
			json_key(&j, readers[r].key[KC_KIND_AUTH], KC_KIND_AUTH);
			json_key(&j, readers[r].key[KC_KIND_SIGN], KC_KIND_SIGN);
			kc_json_close(&j);
			continue;
		}
		if (!any->present) {
			printf("%s: no phone or card\n", any->reader);
			continue;
		}
		printf("%s: %s\n", any->reader, any->model);
		print_key(readers[r].key[KC_KIND_AUTH], KC_KIND_AUTH);
		print_key(readers[r].key[KC_KIND_SIGN], KC_KIND_SIGN);
	}
	if (o->json)
		kc_json_end(&j);
	free(readers);
	free(slots);
	return KC_OK;
}
