/* The subcommands, one file each. */
#ifndef KC_COMMANDS_H
#define KC_COMMANDS_H

#include "tools/cli.h"
#include "tools/module.h"

int kc_cmd_list(kc_module *m, const kc_opts *o);
int kc_cmd_wait(kc_module *m, const kc_opts *o);
int kc_cmd_auth(kc_module *m, const kc_opts *o);
int kc_cmd_holder(kc_module *m, const kc_opts *o);
int kc_cmd_change_pin(kc_module *m, const kc_opts *o);
int kc_cmd_sign(kc_module *m, const kc_opts *o);

#endif
