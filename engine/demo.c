#include "engine/commands.h"
#include <stdio.h>
int cmd_demo(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "demo: not yet\n"); return 1; }
