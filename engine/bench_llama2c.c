/* The llama2.c peer of `rlvr bench sample`: export the model and time run.c on it. */
#include "engine/bench.h"
#include "engine/export.h"
#include "engine/util.h"
#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

double bench_llama2c_tokens_per_s(const Model *m, const char *run_binary, int prompt_tokens,
                                  int new_tokens, char *err, size_t errlen) {
    char dir[] = "/tmp/rlvr-llama2c-XXXXXX", model[64], cmd[8192], script[4200];
    if (!mkdtemp(dir)) { snprintf(err, errlen, "cannot create a temporary directory"); return -1.0; }
    snprintf(model, sizeof model, "%s/model.bin", dir);
    snprintf(script, sizeof script, "%s/bench/llama2c_run.sh", util_exe_dir());
    double tps = -1.0;
    if (llama2c_write_model(m, model, err, errlen) == 0) {
        snprintf(cmd, sizeof cmd, "timeout 600 sh '%s' '%s' '%s' --threads %d --steps %d 2>&1", script, run_binary,
                 model, util_get_threads(), prompt_tokens + new_tokens);
        FILE *p = popen(cmd, "r");
        char line[4096] = "";
        if (p) {
            while (fgets(line, sizeof line, p)) {
                cJSON *j = cJSON_Parse(line);
                const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "tok_s");
                if (cJSON_IsNumber(v)) tps = v->valuedouble;
                cJSON_Delete(j);
            }
            pclose(p);
        }
        if (tps < 0) snprintf(err, errlen, "%s", line[0] ? strtok(line, "\n") : "llama2c_run.sh printed nothing");
    }
    unlink(model);
    rmdir(dir);
    return tps;
}
