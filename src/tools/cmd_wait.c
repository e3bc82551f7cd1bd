/* kazashi wait: block until a phone or card is on a reader. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>

#include "tools/commands.h"
#include "tools/exitcode.h"
#include "tools/json.h"
#include "tools/tap.h"

int kc_cmd_wait(kc_module *m, const kc_opts *o)
{
	kc_deadline d;
	kc_deadline_start(&d, o->timeout);
	kc_slot s;
	int rc = kc_tap_wait(m->f, KC_KIND_OTHER, &d, &s);
	if (rc != KC_OK)
		return rc;
	if (o->json) {
		kc_json j;
		kc_json_begin(&j, stdout);
		kc_json_str(&j, "command", "wait");
		kc_json_str(&j, "event", "tap");
		kc_json_str(&j, "reader", s.reader);
		kc_json_str(&j, "holder", s.model);
		kc_json_end(&j);
	} else {
		printf("%s: %s\n", s.reader, s.model);
	}
	return KC_OK;
}
