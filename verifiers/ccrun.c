/* ccrun: the "ccrun" verifier. Reads the tests from the task's meta, extracts the code,
 * writes it (and for function tasks a generated main) into a private sandbox directory,
 * compiles it there with the compiler in the sandbox's COMPILE profile, runs the binary
 * once per test in the RUN profile and compares the outputs outside the sandbox. The
 * compile and the tests share one sandbox session (one set of namespaces per program,
 * which is most of a sandboxed run's fixed cost); each test runs in a fresh directory of
 * its own holding only the binary, read-only (the sandbox's fresh_with).
 *
 * The generated main of a function task: the user's code comes first, with `main`
 * renamed (a completion that brings its own main still links), then the standard headers
 * the runner needs, then a main whose argv[1] picks the call. The result is held in a
 * variable of the printing type (long long, unsigned long long, double...), never of the
 * declared type, so the runner needs no header the user did not include (a user's own
 * `typedef int bool;` keeps working). While the call runs, stdout points at stderr, so
 * whatever the function prints cannot be taken for its result. */
#define _GNU_SOURCE
#include "verifiers/ccrun.h"
#include "verifiers/sandbox.h"
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#define CCRUN_DETAIL_STDERR 1024   /* bytes of stderr quoted in the detail */
#define CCRUN_DETAIL_TEXT 200      /* bytes of expected/got quoted per failed test */
#define CCRUN_MAX_LISTED 8         /* failed tests listed in the detail */
#define CCRUN_PATH 512

typedef struct {
    CcrunConfig cfg;
    char cc[CCRUN_PATH];   /* the default compiler, "" when none was found */
    int cc_is_tcc;
} CcrunState;

void ccrun_config_default(CcrunConfig *c) {
    memset(c, 0, sizeof *c);
    c->compiler = NULL;
    c->compile_cpu_seconds = 10.0;
    c->compile_wall_seconds = 20.0;
    c->compile_memory_bytes = (size_t)1 << 30;
    c->compile_file_bytes = (size_t)64 << 20;
    c->compile_output_bytes = (size_t)64 << 10;
    c->run_cpu_seconds = 2.0;
    c->run_wall_seconds = 5.0;
    c->run_memory_bytes = (size_t)256 << 20;
    c->run_file_bytes = (size_t)16 << 20;
    c->run_output_bytes = (size_t)16 << 20;
    c->run_max_processes = 0;   /* the sandbox's RUN default */
    c->run_total_seconds = 30.0;
    c->max_source_bytes = (size_t)1 << 20;
}

/* ---------------------------------------------------------------- compilers */

/* name (looked up in the usual directories) or an absolute path, into out. 0 if found. */
static int compiler_resolve(const char *name, char *out, size_t outlen) {
    if (!name || !name[0]) return -1;
    if (strchr(name, '/')) {
        if (name[0] != '/' || access(name, X_OK) != 0) return -1;
        snprintf(out, outlen, "%s", name);
        return 0;
    }
    static const char *const dirs[] = { "/usr/local/bin", "/usr/bin", "/bin" };
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        char path[CCRUN_PATH];
        if ((size_t)snprintf(path, sizeof path, "%s/%s", dirs[i], name) >= sizeof path) continue;
        if (access(path, X_OK) == 0) {
            snprintf(out, outlen, "%s", path);
            return 0;
        }
    }
    return -1;
}

static int compiler_is_tcc(const char *path) {
    const char *base = strrchr(path, '/');
    return strstr(base ? base + 1 : path, "tcc") != NULL;
}

/* ---------------------------------------------------------------- text helpers */

void ccrun_extract_code(const char *text, size_t len, size_t *start, size_t *code_len) {
    /* The last ```c block wins, else the last bare ``` block. A fence opens only at the
     * start of a line; its info string must be exactly "c"/"C" (or empty), so ```cpp
     * and ```python do not count. */
    size_t best_c = (size_t)-1, best_bare = (size_t)-1, end_c = len, end_bare = len;
    size_t i = 0;
    while (i + 3 <= len) {
        int at_line_start = i == 0 || text[i - 1] == '\n';
        if (!at_line_start || memcmp(text + i, "```", 3) != 0) {
            const char *nl = memchr(text + i, '\n', len - i);
            if (!nl) break;
            i = (size_t)(nl - text) + 1;
            continue;
        }
        /* an opening fence: info string up to the end of the line */
        size_t p = i + 3, q;
        const char *nl = memchr(text + p, '\n', len - p);
        size_t eol = nl ? (size_t)(nl - text) : len;
        q = eol;
        while (p < q && (text[p] == ' ' || text[p] == '\t')) p++;
        while (q > p && (text[q - 1] == ' ' || text[q - 1] == '\t' || text[q - 1] == '\r')) q--;
        int is_c = q - p == 1 && (text[p] == 'c' || text[p] == 'C');
        int is_bare = q == p;
        size_t body = nl ? eol + 1 : len;
        /* the closing fence: the next line starting with ``` */
        size_t close = len, after = len, k = body;
        while (k < len) {
            if (len - k >= 3 && memcmp(text + k, "```", 3) == 0) {
                close = k;
                const char *nl2 = memchr(text + k, '\n', len - k);
                after = nl2 ? (size_t)(nl2 - text) + 1 : len;
                break;
            }
            const char *nl2 = memchr(text + k, '\n', len - k);
            if (!nl2) break;
            k = (size_t)(nl2 - text) + 1;
        }
        if (is_c) { best_c = body; end_c = close; }
        else if (is_bare) { best_bare = body; end_bare = close; }
        i = after;
    }
    if (best_c != (size_t)-1) { *start = best_c; *code_len = end_c - best_c; }
    else if (best_bare != (size_t)-1) { *start = best_bare; *code_len = end_bare - best_bare; }
    else { *start = 0; *code_len = len; }
}

static int is_trailing_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

/* The next line of s (from *pos) without its trailing whitespace; 0 at the end. */
static int next_line(const char *s, size_t n, size_t *pos, const char **line, size_t *line_len) {
    if (*pos >= n) return 0;
    const char *nl = memchr(s + *pos, '\n', n - *pos);
    size_t end = nl ? (size_t)(nl - s) : n;
    *line = s + *pos;
    size_t k = end - *pos;
    while (k > 0 && is_trailing_space((*line)[k - 1])) k--;
    *line_len = k;
    *pos = nl ? end + 1 : n;
    return 1;
}

/* Length of s once trailing blank lines (and trailing whitespace) are dropped. */
static size_t trimmed_len(const char *s, size_t n) {
    while (n > 0 && (s[n - 1] == '\n' || is_trailing_space(s[n - 1]))) n--;
    return n;
}

int ccrun_output_equal(const char *got, size_t got_len, const char *expected, size_t expected_len) {
    size_t gn = trimmed_len(got, got_len), en = trimmed_len(expected, expected_len);
    size_t gp = 0, ep = 0;
    for (;;) {
        const char *gl, *el;
        size_t gll, ell;
        int g = next_line(got, gn, &gp, &gl, &gll), e = next_line(expected, en, &ep, &el, &ell);
        if (!g || !e) return g == e;
        if (gll != ell || memcmp(gl, el, gll) != 0) return 0;
    }
}

/* A growing string buffer for the generated source. */
typedef struct { char *s; size_t len, cap; int oom; } Buf;

static void buf_put(Buf *b, const char *s, size_t n) {
    if (b->oom) return;
    if (n >= SIZE_MAX / 4 - b->len) { b->oom = 1; return; }
    size_t need = b->len + n + 1;
    if (need > b->cap || !b->s) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < need) cap *= 2;
        char *t = realloc(b->s, cap);
        if (!t) { b->oom = 1; return; }
        b->s = t;
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = 0;
}
static void buf_str(Buf *b, const char *s) { buf_put(b, s, strlen(s)); }

/* ---------------------------------------------------------------- function tasks */

typedef enum { RT_SIGNED, RT_UNSIGNED, RT_CHAR, RT_BOOL, RT_FLOAT, RT_DOUBLE, RT_LDOUBLE, RT_STRING, RT_VOID } RetKind;

static int is_ident(char c) { return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

/* The return type of a signature such as "static inline unsigned long long f(int x)".
 * 0 on success; -1 with *why set otherwise. */
static int signature_kind(const char *sig, RetKind *kind, const char **why) {
    const char *paren = strchr(sig, '(');
    if (!paren) { *why = "signature has no '('"; return -1; }
    const char *e = paren;
    while (e > sig && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n')) e--;
    const char *name = e;
    while (name > sig && is_ident(name[-1])) name--;
    if (name == e) { *why = "signature has no function name before '('"; return -1; }
    int stars = 0, longs = 0, has_unsigned = 0, has_signed = 0, has_int = 0, has_short = 0, words = 0;
    const char *base = NULL;   /* the one non-modifier word (char, double, size_t...) */
    size_t base_len = 0;
    for (const char *p = sig; p < name;) {
        if (*p == '*') { stars++; p++; continue; }
        if (!is_ident(*p)) {
            if (*p == ' ' || *p == '\t' || *p == '\n') { p++; continue; }
            *why = "return type has an unexpected character";
            return -1;
        }
        const char *w = p;
        while (p < name && is_ident(*p)) p++;
        size_t n = (size_t)(p - w);
#define IS(lit) (n == sizeof(lit) - 1 && memcmp(w, lit, n) == 0)
        if (IS("const") || IS("static") || IS("inline") || IS("extern") || IS("volatile") || IS("restrict"))
            continue;
        words++;
        if (IS("long")) longs++;
        else if (IS("unsigned")) has_unsigned = 1;
        else if (IS("signed")) has_signed = 1;
        else if (IS("int")) has_int = 1;
        else if (IS("short")) has_short = 1;
        else if (base) { *why = "return type not supported"; return -1; }
        else { base = w; base_len = n; }
#undef IS
    }
    if (words == 0) { *why = "signature has no return type"; return -1; }
    if ((has_int || has_short) && base) { *why = "return type not supported"; return -1; }
#define BASE(lit) (base && base_len == sizeof(lit) - 1 && memcmp(base, lit, base_len) == 0)
    if (stars) {
        if (stars == 1 && BASE("char") && !has_unsigned && !has_signed && !longs) { *kind = RT_STRING; return 0; }
        *why = "pointer return types other than char * are not supported";
        return -1;
    }
    if (!base) { *kind = has_unsigned ? RT_UNSIGNED : RT_SIGNED; return 0; }
    if (BASE("char")) { *kind = has_unsigned ? RT_UNSIGNED : has_signed ? RT_SIGNED : RT_CHAR; return 0; }
    if (has_unsigned || has_signed || (longs && !BASE("double"))) { *why = "return type not supported"; return -1; }
    if (BASE("bool") || BASE("_Bool")) *kind = RT_BOOL;
    else if (BASE("void")) *kind = RT_VOID;
    else if (BASE("float")) *kind = RT_FLOAT;
    else if (BASE("double")) *kind = longs ? RT_LDOUBLE : RT_DOUBLE;
    else if (BASE("size_t") || BASE("uint8_t") || BASE("uint16_t") || BASE("uint32_t") || BASE("uint64_t") ||
             BASE("uintmax_t"))
        *kind = RT_UNSIGNED;
    else if (BASE("ssize_t") || BASE("ptrdiff_t") || BASE("int8_t") || BASE("int16_t") || BASE("int32_t") ||
             BASE("int64_t") || BASE("intmax_t"))
        *kind = RT_SIGNED;
    else { *why = "return type not supported"; return -1; }
#undef BASE
    return 0;
}

/* The code that evaluates call and prints its result (stdout restored first). */
static void harness_case(Buf *b, RetKind kind, const char *call) {
    static const char *const decl[] = {
        [RT_SIGNED] = "long long r_ = (long long)(", [RT_UNSIGNED] = "unsigned long long r_ = (unsigned long long)(",
        [RT_CHAR] = "char r_ = (char)(", [RT_BOOL] = "int r_ = (", [RT_FLOAT] = "double r_ = (float)(",
        [RT_DOUBLE] = "double r_ = (double)(", [RT_LDOUBLE] = "long double r_ = (long double)(",
        [RT_STRING] = "const char *r_ = (", [RT_VOID] = "(",
    };
    static const char *const print[] = {
        [RT_SIGNED] = "printf(\"%lld\\n\", r_);", [RT_UNSIGNED] = "printf(\"%llu\\n\", r_);",
        [RT_CHAR] = "putchar(r_); putchar('\\n');", [RT_BOOL] = "puts(r_ ? \"true\" : \"false\");",
        [RT_FLOAT] = "printf(\"%.9g\\n\", r_);", [RT_DOUBLE] = "printf(\"%.17g\\n\", r_);",
        [RT_LDOUBLE] = "printf(\"%.21Lg\\n\", r_);", [RT_STRING] = "puts(r_ ? r_ : \"NULL\");",
        [RT_VOID] = "",
    };
    buf_str(b, decl[kind]);
    buf_str(b, call);
    buf_str(b, kind == RT_BOOL ? ") ? 1 : 0;\n" : ");\n");
    buf_str(b, "        rlvr_restore_stdout_();\n        ");
    buf_str(b, print[kind]);
    buf_str(b, "\n");
}

/* ---------------------------------------------------------------- tests */

typedef struct {
    const char *in;      /* program tasks: stdin */
    size_t in_len;
    const char *want;    /* expected output (points into meta, or into own) */
    char *own;
    const char *call;    /* function tasks */
} Test;

typedef struct {
    Test *tests;
    int n;
    int function;        /* a function task */
    RetKind kind;
    double cpu_seconds, wall_seconds;
    size_t memory_bytes;
} Plan;

static void plan_free(Plan *p) {
    for (int i = 0; i < p->n; i++) free(p->tests[i].own);
    free(p->tests);
    p->tests = NULL;
}

/* An "expect" value as text: strings as they are, numbers as printed by C, booleans. */
static int expect_text(const cJSON *e, Test *t) {
    if (cJSON_IsString(e)) { t->want = e->valuestring; return 0; }
    char buf[64];
    if (cJSON_IsBool(e)) snprintf(buf, sizeof buf, "%s", cJSON_IsTrue(e) ? "true" : "false");
    else if (cJSON_IsNumber(e)) {
        double d = e->valuedouble;
        if (d == floor(d) && fabs(d) < 9007199254740992.0) snprintf(buf, sizeof buf, "%.0f", d);
        else snprintf(buf, sizeof buf, "%.17g", d);
    } else return -1;
    t->own = strdup(buf);
    t->want = t->own;
    return t->own ? 0 : -1;
}

/* Reads the tests (and limits) from meta. 0, or -1 with reason written. */
static int plan_read(const CcrunConfig *cfg, const cJSON *meta, Plan *p, char *reason, size_t rlen) {
    memset(p, 0, sizeof *p);
    p->cpu_seconds = cfg->run_cpu_seconds;
    p->wall_seconds = cfg->run_wall_seconds;
    p->memory_bytes = cfg->run_memory_bytes;
    const cJSON *tests = cJSON_GetObjectItemCaseSensitive(meta, "tests");
    if (!tests) { snprintf(reason, rlen, "the task has no \"tests\""); return -1; }
    if (!cJSON_IsArray(tests)) { snprintf(reason, rlen, "\"tests\" is not an array"); return -1; }
    int n = cJSON_GetArraySize(tests);
    if (n == 0) { snprintf(reason, rlen, "\"tests\" is empty"); return -1; }
    const cJSON *sig = cJSON_GetObjectItemCaseSensitive(meta, "signature");
    if (sig) {
        const char *why = NULL;
        if (!cJSON_IsString(sig)) { snprintf(reason, rlen, "\"signature\" is not a string"); return -1; }
        if (signature_kind(sig->valuestring, &p->kind, &why)) {
            snprintf(reason, rlen, "signature \"%.100s\": %s", sig->valuestring, why);
            return -1;
        }
        p->function = 1;
    }
    const cJSON *tl = cJSON_GetObjectItemCaseSensitive(meta, "time_limit");
    if (tl) {
        if (!cJSON_IsNumber(tl) || !(tl->valuedouble >= 0.1 && tl->valuedouble <= 60.0)) {
            snprintf(reason, rlen, "\"time_limit\" must be a number of seconds from 0.1 to 60");
            return -1;
        }
        p->cpu_seconds = tl->valuedouble;
        p->wall_seconds = 2.0 * tl->valuedouble + 1.0;
    }
    const cJSON *ml = cJSON_GetObjectItemCaseSensitive(meta, "memory_limit");
    if (ml) {
        if (!cJSON_IsNumber(ml) || !(ml->valuedouble >= 16.0 && ml->valuedouble <= 4096.0)) {
            snprintf(reason, rlen, "\"memory_limit\" must be a number of MB from 16 to 4096");
            return -1;
        }
        p->memory_bytes = (size_t)ml->valuedouble << 20;
    }
    p->tests = calloc((size_t)n, sizeof *p->tests);
    if (!p->tests) { snprintf(reason, rlen, "out of memory"); return -1; }
    p->n = n;
    int i = 0;
    for (const cJSON *t = tests->child; t; t = t->next, i++) {
        Test *x = &p->tests[i];
        if (!cJSON_IsObject(t)) { snprintf(reason, rlen, "tests[%d] is not an object", i); goto bad; }
        if (p->function) {
            const cJSON *call = cJSON_GetObjectItemCaseSensitive(t, "call");
            const cJSON *expect = cJSON_GetObjectItemCaseSensitive(t, "expect");
            if (!cJSON_IsString(call) || !call->valuestring[0]) {
                snprintf(reason, rlen, "tests[%d].call is missing or not a non-empty string", i);
                goto bad;
            }
            if (strpbrk(call->valuestring, "\n;{}")) {
                snprintf(reason, rlen, "tests[%d].call must be one expression (no newline, ';', '{' or '}')", i);
                goto bad;
            }
            x->call = call->valuestring;
            if (!expect || expect_text(expect, x)) {
                snprintf(reason, rlen, "tests[%d].expect is missing or not a string, number or boolean", i);
                goto bad;
            }
        } else {
            const cJSON *in = cJSON_GetObjectItemCaseSensitive(t, "stdin");
            const cJSON *out = cJSON_GetObjectItemCaseSensitive(t, "stdout");
            if (in && !cJSON_IsString(in)) { snprintf(reason, rlen, "tests[%d].stdin is not a string", i); goto bad; }
            if (!cJSON_IsString(out)) {
                snprintf(reason, rlen, "tests[%d].stdout is missing or not a string%s", i,
                         sig ? "" : " (a function task needs \"signature\")");
                goto bad;
            }
            x->in = in ? in->valuestring : "";
            x->in_len = strlen(x->in);
            x->want = out->valuestring;
        }
    }
    return 0;
bad:
    plan_free(p);
    return -1;
}

/* Whether got matches the expected result of test t. */
static int test_passed(const Plan *p, const Test *t, const char *got, size_t got_len) {
    if (p->function && (p->kind == RT_FLOAT || p->kind == RT_DOUBLE || p->kind == RT_LDOUBLE)) {
        size_t gn = trimmed_len(got, got_len);
        char *g = strndup(got, gn), *ge, *ee;
        if (!g) return 0;
        int ok;
        if (p->kind == RT_FLOAT) {
            float a = strtof(g, &ge), b = strtof(t->want, &ee);
            ok = a == b || (isnan(a) && isnan(b));
        } else if (p->kind == RT_DOUBLE) {
            double a = strtod(g, &ge), b = strtod(t->want, &ee);
            ok = a == b || (isnan(a) && isnan(b));
        } else {
            long double a = strtold(g, &ge), b = strtold(t->want, &ee);
            ok = a == b || (isnan(a) && isnan(b));
        }
        while (*ee == ' ' || *ee == '\t' || *ee == '\n' || *ee == '\r') ee++;
        ok = ok && ge != g && *ge == 0 && ee != t->want && *ee == 0;
        free(g);
        if (ok) return 1;
    }
    return ccrun_output_equal(got, got_len, t->want, strlen(t->want));
}

/* ---------------------------------------------------------------- the verifier */

static void verdict_fail(Verdict *out, const char *reason) {
    verdict_set(out, 0.0, VERDICT_VERIFIER_ERROR);
    if (out->detail) cJSON_AddStringToObject(out->detail, "reason", reason);
}

/* The source file: the code, and for a function task the generated main. */
static int source_build(const Plan *p, const char *code, size_t code_len, Buf *b) {
    if (p->function) buf_str(b, "#define main rlvr_user_main\n#line 1 \"prog.c\"\n");
    buf_put(b, code, code_len);
    buf_str(b, "\n");
    if (p->function) {
        buf_str(b,
                "#line 1 \"rlvr_main.c\"\n"
                "#undef main\n"
                "#include <stdio.h>\n"
                "#include <stdlib.h>\n"
                "extern int dup(int);\n"
                "extern int dup2(int, int);\n"
                "static int rlvr_out_fd_ = -1;\n"
                "static void rlvr_restore_stdout_(void) {\n"
                "    fflush(stdout);\n"
                "    if (rlvr_out_fd_ >= 0) dup2(rlvr_out_fd_, 1);\n"
                "}\n"
                "int main(int argc, char **argv) {\n"
                "    int which = argc > 1 ? atoi(argv[1]) : -1;\n"
                "    fflush(stdout);\n"
                "    rlvr_out_fd_ = dup(1);\n"
                "    if (rlvr_out_fd_ >= 0 && dup2(2, 1) < 0) rlvr_out_fd_ = -1;\n"
                "    switch (which) {\n");
        for (int i = 0; i < p->n; i++) {
            char head[64];
            snprintf(head, sizeof head, "    case %d: {\n        ", i);
            buf_str(b, head);
            harness_case(b, p->kind, p->tests[i].call);
            buf_str(b, "        break;\n    }\n");
        }
        buf_str(b, "    default: rlvr_restore_stdout_(); return 2;\n    }\n    fflush(stdout);\n    return 0;\n}\n");
    }
    return b->oom ? -1 : 0;
}

static int file_write(const char *dir, const char *name, const char *data, size_t len) {
    char path[CCRUN_PATH + 64];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t w = len ? fwrite(data, 1, len, f) : 0;
    int rc = fclose(f);
    return w == len && rc == 0 ? 0 : -1;
}

static const char *outcome_status(SandboxOutcome o) {
    switch (o) {
    case SANDBOX_TIME_LIMIT: return VERDICT_TIME_LIMIT;
    case SANDBOX_MEMORY_LIMIT: return VERDICT_MEMORY_LIMIT;
    case SANDBOX_OUTPUT_LIMIT: return VERDICT_OUTPUT_LIMIT;
    case SANDBOX_VIOLATION: return VERDICT_SANDBOX_VIOLATION;
    case SANDBOX_EXITED:
    case SANDBOX_SIGNALED: return VERDICT_RUNTIME_ERROR;
    default: return VERDICT_VERIFIER_ERROR;
    }
}

static double ms(double s) { return floor(s * 1000.0 * 10.0 + 0.5) / 10.0; }

/* Compiles prog.c in dir. 0: compiled (res filled, caller frees); 1: the verdict is set
 * (compile_error, sandbox_violation or verifier_error). */
static int compile(const CcrunState *st, SandboxSession *sb, const char *cc, int tcc, const char *dir, Verdict *out,
                   double *compile_s) {
    const char *gcc_argv[] = { cc, "-std=gnu11", "-O2", "-pipe", "-fdiagnostics-color=never", "-o", "prog", "prog.c", "-lm", NULL };
    const char *tcc_argv[] = { cc, "-o", "prog", "prog.c", "-lm", NULL };
    SandboxSpec spec = sandbox_default_spec(SANDBOX_PROFILE_COMPILE);
    spec.argv = tcc ? tcc_argv : gcc_argv;
    spec.dir = dir;
    spec.stdin_data = NULL;
    spec.stdin_len = 0;
    spec.cpu_seconds = st->cfg.compile_cpu_seconds;
    spec.wall_seconds = st->cfg.compile_wall_seconds;
    spec.memory_bytes = st->cfg.compile_memory_bytes;
    spec.file_bytes = st->cfg.compile_file_bytes;
    spec.output_bytes = st->cfg.compile_output_bytes;
    SandboxResult res;
    memset(&res, 0, sizeof res);
    char err[256] = "";
    int rc = sandbox_session_run(sb, &spec, &res, err, sizeof err);
    *compile_s = res.wall_seconds;
    cJSON_AddNumberToObject(out->detail, "compile_ms", ms(res.wall_seconds));
    if (rc != 0 || res.outcome == SANDBOX_ERROR) {
        char reason[400];
        snprintf(reason, sizeof reason, "sandbox failed to run the compiler: %s", err[0] ? err : "unknown error");
        verdict_fail(out, reason);
        sandbox_result_free(&res);
        return 1;
    }
    if (res.outcome == SANDBOX_EXITED && res.exit_code == 0) {
        sandbox_result_free(&res);
        return 0;
    }
    char reason[160];
    switch (res.outcome) {
    case SANDBOX_EXITED: snprintf(reason, sizeof reason, "the compiler exited with status %d", res.exit_code); break;
    case SANDBOX_SIGNALED: snprintf(reason, sizeof reason, "the compiler was killed by signal %d", res.signal); break;
    case SANDBOX_TIME_LIMIT: snprintf(reason, sizeof reason, "the compiler ran out of time"); break;
    case SANDBOX_MEMORY_LIMIT: snprintf(reason, sizeof reason, "the compiler ran out of memory"); break;
    case SANDBOX_OUTPUT_LIMIT:
        snprintf(reason, sizeof reason, "the compiler's diagnostics passed %zu bytes", st->cfg.compile_output_bytes);
        break;
    default:
        snprintf(reason, sizeof reason, "the compiler made a forbidden system call (%d)", res.violation_syscall);
        break;
    }
    verdict_detail_add(out->detail, "reason", cJSON_CreateString(reason));
    verdict_detail_add(out->detail, "stderr", verdict_detail_text(res.err ? res.err : "", res.err ? res.err_len : 0, CCRUN_DETAIL_STDERR));
    if (res.outcome == SANDBOX_VIOLATION) {
        cJSON_AddStringToObject(out->detail, "stage", "compile");
        verdict_set(out, 0.0, VERDICT_SANDBOX_VIOLATION);
    } else {
        verdict_set(out, 0.0, VERDICT_COMPILE_ERROR);
    }
    sandbox_result_free(&res);
    return 1;
}

/* Runs every test of p against dir/prog, each in a directory of its own, and sets the
 * verdict. */
static void run_tests(const CcrunState *st, SandboxSession *sb, const Plan *p, const char *dir, Verdict *out) {
    cJSON *failed = cJSON_CreateArray();
    if (!failed) { verdict_fail(out, "out of memory"); return; }
    int passed = 0, ran = 0;
    const char *first_status = NULL;    /* the first failure that is not a plain wrong answer */
    int have_stderr = 0;
    double run_s = 0.0;
    for (int i = 0; i < p->n; i++) {
        if (i > 0 && run_s >= st->cfg.run_total_seconds) {
            cJSON_AddStringToObject(out->detail, "reason", "the tests' total time ran out: the rest were not run");
            if (!first_status) first_status = VERDICT_TIME_LIMIT;
            break;
        }
        const Test *t = &p->tests[i];
        char index[16];
        snprintf(index, sizeof index, "%d", i);
        const char *argv_prog[] = { "./prog", NULL };
        const char *argv_fn[] = { "./prog", index, NULL };
        SandboxSpec spec = sandbox_default_spec(SANDBOX_PROFILE_RUN);
        spec.argv = p->function ? argv_fn : argv_prog;
        spec.dir = dir;
        spec.fresh_with = "prog";   /* each test in a directory of its own */
        spec.stdin_data = p->function ? NULL : t->in;
        spec.stdin_len = p->function ? 0 : t->in_len;
        spec.cpu_seconds = p->cpu_seconds;
        spec.wall_seconds = p->wall_seconds;
        spec.memory_bytes = p->memory_bytes;
        spec.file_bytes = st->cfg.run_file_bytes;
        spec.output_bytes = st->cfg.run_output_bytes;
        if (st->cfg.run_max_processes > 0) spec.max_processes = st->cfg.run_max_processes;
        SandboxResult res;
        memset(&res, 0, sizeof res);
        char err[256] = "";
        int rc = sandbox_session_run(sb, &spec, &res, err, sizeof err);
        ran++;
        run_s += res.wall_seconds;
        if (rc != 0 || res.outcome == SANDBOX_ERROR) {
            char reason[400];
            snprintf(reason, sizeof reason, "sandbox failed to run test %d: %s", i, err[0] ? err : "unknown error");
            sandbox_result_free(&res);
            cJSON_Delete(failed);
            verdict_fail(out, reason);
            return;
        }
        const char *got = res.out ? res.out : "";
        size_t got_len = res.out ? res.out_len : 0;
        int ok = res.outcome == SANDBOX_EXITED && res.exit_code == 0 && test_passed(p, t, got, got_len);
        if (ok) { passed++; sandbox_result_free(&res); continue; }
        const char *status = res.outcome == SANDBOX_EXITED && res.exit_code == 0 ? VERDICT_WRONG
                                                                                  : outcome_status(res.outcome);
        if (!have_stderr) {
            verdict_detail_add(out->detail, "stderr", verdict_detail_text(res.err ? res.err : "", res.err ? res.err_len : 0,
                                                          CCRUN_DETAIL_STDERR));
            have_stderr = 1;
        }
        if (strcmp(status, VERDICT_WRONG) != 0 && !first_status) {
            first_status = status;
            if (res.outcome == SANDBOX_SIGNALED) cJSON_AddNumberToObject(out->detail, "signal", res.signal);
            if (res.outcome == SANDBOX_EXITED) cJSON_AddNumberToObject(out->detail, "exit_code", res.exit_code);
            if (res.outcome == SANDBOX_VIOLATION && res.violation_syscall >= 0)
                cJSON_AddNumberToObject(out->detail, "syscall", res.violation_syscall);
        }
        if (cJSON_GetArraySize(failed) < CCRUN_MAX_LISTED) {
            cJSON *f = cJSON_CreateObject();
            if (f) {
                cJSON_AddNumberToObject(f, "test", i);
                cJSON_AddStringToObject(f, "status", status);
                if (p->function) verdict_detail_add(f, "call", verdict_detail_text(t->call, strlen(t->call), CCRUN_DETAIL_TEXT));
                verdict_detail_add(f, "expected", verdict_detail_text(t->want, strlen(t->want), CCRUN_DETAIL_TEXT));
                verdict_detail_add(f, "got", verdict_detail_text(got, got_len, CCRUN_DETAIL_TEXT));
                if (res.outcome == SANDBOX_SIGNALED) cJSON_AddNumberToObject(f, "signal", res.signal);
                if (res.outcome == SANDBOX_EXITED && res.exit_code) cJSON_AddNumberToObject(f, "exit_code", res.exit_code);
                cJSON_AddItemToArray(failed, f);
            }
        }
        sandbox_result_free(&res);
        /* An attempt to break out earns nothing and is not given more tries. */
        if (strcmp(status, VERDICT_SANDBOX_VIOLATION) == 0) break;
    }
    cJSON_AddNumberToObject(out->detail, "tests_passed", passed);
    cJSON_AddNumberToObject(out->detail, "tests_total", p->n);
    if (ran < p->n) cJSON_AddNumberToObject(out->detail, "tests_run", ran);
    cJSON_AddNumberToObject(out->detail, "run_ms", ms(run_s));
    if (!have_stderr) cJSON_AddStringToObject(out->detail, "stderr", "");
    cJSON_AddItemToObject(out->detail, "failed", failed);
    double reward = (double)passed / (double)p->n;
    if (passed == p->n) verdict_set(out, 1.0, VERDICT_CORRECT);
    else if (first_status && strcmp(first_status, VERDICT_SANDBOX_VIOLATION) == 0) verdict_set(out, 0.0, first_status);
    else verdict_set(out, reward, first_status ? first_status : VERDICT_WRONG);
}

static void ccrun_score(const Verifier *self, const Task *task, const char *completion, size_t len, Verdict *out) {
    const CcrunState *st = self->state;
    if (!out->detail) { verdict_fail(out, "out of memory"); return; }
    if (!task || !task->meta) { verdict_fail(out, "no task"); return; }
    if (!completion) { completion = ""; len = 0; }

    /* the compiler: meta "compiler", else the verifier's default */
    char cc_buf[CCRUN_PATH];
    const char *cc = st->cc;
    int tcc = st->cc_is_tcc;
    const cJSON *cj = cJSON_GetObjectItemCaseSensitive(task->meta, "compiler");
    if (cj) {
        static const char *const allowed[] = { "gcc", "tcc", "cc", "clang" };
        int known = 0;
        for (size_t i = 0; cJSON_IsString(cj) && i < sizeof allowed / sizeof allowed[0]; i++)
            known |= strcmp(cj->valuestring, allowed[i]) == 0;
        if (!known) { verdict_fail(out, "\"compiler\" must be one of gcc, tcc, cc, clang"); return; }
        if (compiler_resolve(cj->valuestring, cc_buf, sizeof cc_buf)) {
            char reason[128];
            snprintf(reason, sizeof reason, "compiler \"%s\" is not installed", cj->valuestring);
            verdict_fail(out, reason);
            return;
        }
        cc = cc_buf;
        tcc = compiler_is_tcc(cc);
    }
    if (!cc[0]) { verdict_fail(out, "no C compiler found (set RLVR_CC, or install gcc or tcc)"); return; }
    cJSON_AddStringToObject(out->detail, "compiler", cc);

    Plan plan;
    char reason[256];
    if (plan_read(&st->cfg, task->meta, &plan, reason, sizeof reason)) { verdict_fail(out, reason); return; }

    size_t start, code_len;
    ccrun_extract_code(completion, len, &start, &code_len);
    if (code_len > st->cfg.max_source_bytes) {
        char why[128];
        snprintf(why, sizeof why, "the program is %zu bytes, over the limit of %zu", code_len, st->cfg.max_source_bytes);
        cJSON_AddStringToObject(out->detail, "reason", why);
        cJSON_AddNumberToObject(out->detail, "tests_passed", 0);
        cJSON_AddNumberToObject(out->detail, "tests_total", plan.n);
        verdict_set(out, 0.0, VERDICT_COMPILE_ERROR);
        plan_free(&plan);
        return;
    }
    Buf src = { 0 };
    if (source_build(&plan, completion + start, code_len, &src)) {
        free(src.s);
        plan_free(&plan);
        verdict_fail(out, "out of memory");
        return;
    }
    char dir[CCRUN_PATH], err[256];
    if (sandbox_dir_create(dir, sizeof dir, err, sizeof err)) {
        char why[400];
        snprintf(why, sizeof why, "cannot create a sandbox directory: %s", err);
        free(src.s);
        plan_free(&plan);
        verdict_fail(out, why);
        return;
    }
    double compile_s = 0.0;
    if (file_write(dir, "prog.c", src.s, src.len)) verdict_fail(out, "cannot write the program to the sandbox directory");
    else {
        /* One set of namespaces for the compile and every test run of this program. */
        SandboxSession *sb = NULL;
        if (sandbox_session_open(&sb, dir, err, sizeof err) != 0) {
            char why[400];
            snprintf(why, sizeof why, "cannot open a sandbox: %s", err);
            verdict_fail(out, why);
        } else if (compile(st, sb, cc, tcc, dir, out, &compile_s) == 0) {
            run_tests(st, sb, &plan, dir, out);
        }
        sandbox_session_close(sb);
    }
    if (!cJSON_GetObjectItemCaseSensitive(out->detail, "tests_passed")) {
        cJSON_AddNumberToObject(out->detail, "tests_passed", 0);
        cJSON_AddNumberToObject(out->detail, "tests_total", plan.n);
    }
    sandbox_dir_remove(dir);
    free(src.s);
    plan_free(&plan);
}

static void ccrun_free(Verifier *self) {
    if (!self) return;
    free(self->state);
    free(self);
}

const char *ccrun_compiler_path(const Verifier *v) {
    return v && v->state ? ((const CcrunState *)v->state)->cc : "";
}

Verifier *verifier_ccrun_create_with(const CcrunConfig *c) {
    Verifier *v = calloc(1, sizeof *v);
    CcrunState *st = calloc(1, sizeof *st);
    if (!v || !st) { free(v); free(st); return NULL; }
    if (c) st->cfg = *c;
    else ccrun_config_default(&st->cfg);
    const char *want = st->cfg.compiler;
    if (!want || !want[0]) want = getenv("RLVR_CC");
    if (want && want[0]) {
        if (compiler_resolve(want, st->cc, sizeof st->cc)) st->cc[0] = 0;
    } else if (compiler_resolve("tcc", st->cc, sizeof st->cc) && compiler_resolve("gcc", st->cc, sizeof st->cc)) {
        st->cc[0] = 0;
    }
    st->cfg.compiler = NULL;   /* not kept: the caller's string may not outlive us */
    st->cc_is_tcc = st->cc[0] && compiler_is_tcc(st->cc);
    v->name = "ccrun";
    v->score = ccrun_score;
    v->free = ccrun_free;
    v->state = st;
    return v;
}

Verifier *verifier_ccrun_create(void) { return verifier_ccrun_create_with(NULL); }
