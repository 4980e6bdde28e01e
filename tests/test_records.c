/* test_records: run records in a bare git repository: snapshots read back at any step,
 * existing data that is not a records repository is never touched, concurrent writers
 * lose nothing, a killed writer leaves a readable repository, and provenance of a work
 * tree is reported. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "engine/records.h"
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <git2.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char g_dir[256];
static char err[2048];

/* ---------------------------------------------------------------- helpers */

static void path_in(char *out, size_t n, const char *name) { snprintf(out, n, "%s/%s", g_dir, name); }

static void write_file(const char *path, const char *data) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(data, f);
    fclose(f);
}

static int rm_entry(const char *p, const struct stat *sb, int type, struct FTW *ftw) {
    (void)sb; (void)ftw;
    return type == FTW_DP ? rmdir(p) : unlink(p);
}
static void rm_rf(const char *p) { nftw(p, rm_entry, 16, FTW_DEPTH | FTW_PHYS); }

/* A digest of everything under a path: names, types, modes, sizes, contents, in sorted
 * order, so "unchanged" means byte-for-byte unchanged. */
static char **g_ents;
static int g_nent, g_capent;
static size_t g_root;
static int collect(const char *p, const struct stat *sb, int type, struct FTW *ftw) {
    (void)ftw;
    char line[8192];
    unsigned long long h = 1469598103934665603ULL;
    if (type == FTW_F) {
        FILE *f = fopen(p, "rb");
        if (f) {
            int c;
            while ((c = getc(f)) != EOF) h = (h ^ (unsigned char)c) * 1099511628211ULL;
            fclose(f);
        }
    }
    snprintf(line, sizeof line, "%s %d %o %lld %llx", p + g_root, type, (unsigned)sb->st_mode,
             (long long)(S_ISDIR(sb->st_mode) ? 0 : sb->st_size), h);
    if (g_nent == g_capent) {
        g_capent = g_capent ? 2 * g_capent : 64;
        g_ents = realloc(g_ents, (size_t)g_capent * sizeof *g_ents);
    }
    g_ents[g_nent++] = strdup(line);
    return 0;
}
static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }
static unsigned long long digest(const char *path) {
    g_nent = 0;
    g_root = strlen(path);
    assert_int_equal(nftw(path, collect, 16, FTW_PHYS), 0);
    qsort(g_ents, (size_t)g_nent, sizeof *g_ents, cmp_str);
    unsigned long long h = 1469598103934665603ULL;
    for (int i = 0; i < g_nent; i++) {
        for (const char *s = g_ents[i]; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
        h = (h ^ '\n') * 1099511628211ULL;
        free(g_ents[i]);
    }
    free(g_ents);
    g_ents = NULL;
    g_capent = g_nent = 0;
    return h;
}

static void commit_ok(Records *r, const char *run, const char *cfg, const char *metrics, const char *msg,
                      char id[41]) {
    RecordFile f[2] = { { "config.json", cfg, strlen(cfg) }, { "metrics.jsonl", metrics, strlen(metrics) } };
    if (records_commit(r, run, f, 2, msg, id, err, sizeof err) != 0) fail_msg("commit %s: %s", run, err);
}

static void expect_file(Records *r, const char *run, const char *rev, const char *name, const char *want) {
    char *data = NULL;
    size_t len = 0;
    if (records_read(r, run, rev, name, &data, &len, err, sizeof err) != 0)
        fail_msg("read %s %s %s: %s", run, rev ? rev : "(tip)", name, err);
    assert_int_equal(len, strlen(want));
    assert_string_equal(data, want);
    free(data);
}

static void free_ids(char **ids, int n) {
    for (int i = 0; i < n; i++) free(ids[i]);
    free(ids);
}

/* ---------------------------------------------------------------- snapshots */

static void test_commit_list_read_log(void **state) {
    (void)state;
    char repo[512];
    path_in(repo, sizeof repo, "deep/er/records.git");
    assert_null(records_open(repo, 0, err, sizeof err)); /* create not set: nothing made */
    assert_non_null(strstr(err, repo));
    struct stat st;
    assert_int_not_equal(stat(repo, &st), 0);

    Records *r = records_open(repo, 1, err, sizeof err);
    if (!r) fail_msg("%s", err);
    char ids[3][41], bid[41];
    commit_ok(r, "alpha", "{\"lr\":1}", "{\"step\":1}\n", "step 1: reward 0.10", ids[0]);
    commit_ok(r, "alpha", "{\"lr\":1}", "{\"step\":1}\n{\"step\":2}\n", "step 2: reward 0.20\n\nbody", ids[1]);
    commit_ok(r, "beta", "{\"lr\":2}", "", "beta step 1", bid);
    commit_ok(r, "alpha", "{\"lr\":3}", "{\"step\":1}\n{\"step\":2}\n{\"step\":3}\n", "step 3: reward 0.30", ids[2]);
    for (int i = 0; i < 3; i++) assert_int_equal(strlen(ids[i]), 40);

    char **list = NULL;
    int n = 0;
    assert_int_equal(records_list(r, &list, &n, err, sizeof err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(list[0], "alpha");
    assert_string_equal(list[1], "beta");
    free_ids(list, n);

    expect_file(r, "alpha", NULL, "metrics.jsonl", "{\"step\":1}\n{\"step\":2}\n{\"step\":3}\n");
    expect_file(r, "alpha", NULL, "config.json", "{\"lr\":3}");
    expect_file(r, "alpha", "runs/alpha~1", "metrics.jsonl", "{\"step\":1}\n{\"step\":2}\n");
    expect_file(r, "alpha", "runs/alpha~2", "metrics.jsonl", "{\"step\":1}\n");
    expect_file(r, "alpha", "~2", "config.json", "{\"lr\":1}");
    expect_file(r, NULL, ids[1], "metrics.jsonl", "{\"step\":1}\n{\"step\":2}\n");
    expect_file(r, "beta", NULL, "metrics.jsonl", "");
    expect_file(r, "beta", NULL, "config.json", "{\"lr\":2}");

    char *data = NULL;
    size_t len;
    assert_int_equal(records_read(r, "alpha", "runs/alpha~3", "config.json", &data, &len, err, sizeof err), -1);
    assert_non_null(strstr(err, "alpha~3"));
    assert_int_equal(records_read(r, "alpha", NULL, "nope.json", &data, &len, err, sizeof err), -1);
    assert_non_null(strstr(err, "nope.json"));
    assert_int_equal(records_read(r, "gamma", NULL, "config.json", &data, &len, err, sizeof err), -1);
    assert_non_null(strstr(err, "gamma"));
    assert_null(data);

    RecordCommit *log = NULL;
    assert_int_equal(records_log(r, "alpha", &log, &n, err, sizeof err), 0);
    assert_int_equal(n, 3);
    assert_string_equal(log[0].summary, "step 3: reward 0.30");
    assert_string_equal(log[1].summary, "step 2: reward 0.20");
    assert_string_equal(log[2].summary, "step 1: reward 0.10");
    for (int i = 0; i < 3; i++) {
        assert_string_equal(log[i].id, ids[2 - i]);
        assert_true(log[i].time > 1600000000LL);
    }
    free(log);
    assert_int_equal(records_log(r, "gamma", &log, &n, err, sizeof err), -1);

    /* Run ids that are not one valid ref-name component, and bad file lists. */
    const char *bad[] = { "", "a b", "a..b", "x/y", "foo.lock", ".hidden", "a~1", "a:b", "a^", "x*", "a@{1}", "end." };
    RecordFile f = { "x", "y", 1 };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        err[0] = 0;
        assert_int_equal(records_commit(r, bad[i], &f, 1, "m", NULL, err, sizeof err), -1);
        assert_true(err[0] != 0);
        if (bad[i][0]) assert_non_null(strstr(err, bad[i]));
    }
    RecordFile dup[2] = { { "a", "1", 1 }, { "a", "2", 1 } }, slash = { "d/a", "1", 1 };
    assert_int_equal(records_commit(r, "alpha", dup, 2, "m", NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "twice"));
    assert_int_equal(records_commit(r, "alpha", &slash, 1, "m", NULL, err, sizeof err), -1);
    records_close(r);

    /* Persistence: a fresh handle reads the same. */
    r = records_open(repo, 0, err, sizeof err);
    if (!r) fail_msg("%s", err);
    expect_file(r, "alpha", NULL, "metrics.jsonl", "{\"step\":1}\n{\"step\":2}\n{\"step\":3}\n");
    expect_file(r, "alpha", "runs/alpha~2", "config.json", "{\"lr\":1}");
    expect_file(r, "beta", NULL, "config.json", "{\"lr\":2}");
    assert_int_equal(records_log(r, "alpha", &log, &n, err, sizeof err), 0);
    assert_int_equal(n, 3);
    assert_string_equal(log[0].id, ids[2]);
    free(log);
    records_close(r);
}

/* ---------------------------------------------------------------- refusals */

static void expect_refused(const char *path, const char *what) {
    unsigned long long before = digest(path);
    for (int create = 0; create <= 1; create++) {
        err[0] = 0;
        Records *r = records_open(path, create, err, sizeof err);
        if (r) fail_msg("%s: opened (create=%d)", what, create);
        assert_non_null(strstr(err, path));
        assert_null(strchr(err, '\n'));
        printf("  %-22s %s\n", what, err);
    }
    assert_true(digest(path) == before);
}

static void test_refuses_what_is_not_a_records_repo(void **state) {
    (void)state;
    char p[512], q[600];
    /* A plain directory with files. */
    path_in(p, sizeof p, "plain");
    mkdir(p, 0755);
    snprintf(q, sizeof q, "%s/HEAD", p);
    write_file(q, "not git\n");
    snprintf(q, sizeof q, "%s/data.txt", p);
    write_file(q, "precious\n");
    expect_refused(p, "plain directory");

    /* A regular file. */
    path_in(p, sizeof p, "afile.git");
    write_file(p, "some bytes\n");
    expect_refused(p, "regular file");

    /* A non-bare repository (a work tree). */
    path_in(p, sizeof p, "worktree");
    git_libgit2_init();
    git_repository *wt = NULL;
    assert_int_equal(git_repository_init(&wt, p, 0), 0);
    git_repository_free(wt);
    git_libgit2_shutdown();
    expect_refused(p, "work tree");

    /* Corrupt repositories: truncated HEAD, missing objects/, a run's tip object gone. */
    path_in(p, sizeof p, "trunc.git");
    Records *r = records_open(p, 1, err, sizeof err);
    if (!r) fail_msg("%s", err);
    char id[41];
    commit_ok(r, "run1", "{}", "x\n", "one", id);
    records_close(r);
    snprintf(q, sizeof q, "%s/HEAD", p);
    assert_int_equal(truncate(q, 0), 0);
    expect_refused(p, "truncated HEAD");

    path_in(p, sizeof p, "noobj.git");
    r = records_open(p, 1, err, sizeof err);
    if (!r) fail_msg("%s", err);
    commit_ok(r, "run1", "{}", "x\n", "one", id);
    records_close(r);
    snprintf(q, sizeof q, "%s/objects", p);
    rm_rf(q);
    expect_refused(p, "objects/ removed");

    path_in(p, sizeof p, "dangling.git");
    r = records_open(p, 1, err, sizeof err);
    if (!r) fail_msg("%s", err);
    commit_ok(r, "run1", "{}", "x\n", "one", id);
    records_close(r);
    snprintf(q, sizeof q, "%s/objects/%.2s/%s", p, id, id + 2);
    assert_int_equal(unlink(q), 0);
    expect_refused(p, "tip object removed");
}

/* ---------------------------------------------------------------- locking */

static void test_lock_timeout_and_stale_ref_lock(void **state) {
    (void)state;
    char p[512], q[700];
    path_in(p, sizeof p, "lock.git");
    Records *r = records_open(p, 1, err, sizeof err);
    if (!r) fail_msg("%s", err);
    char id[41];
    commit_ok(r, "x", "{}", "1\n", "one", id);

    /* Someone holds rlvr.lock: a commit waits its time limit, then says so. */
    snprintf(q, sizeof q, "%s/rlvr.lock", p);
    int fd = open(q, O_RDWR | O_CREAT, 0644);
    assert_true(fd >= 0);
    assert_int_equal(flock(fd, LOCK_EX), 0);
    records_set_lock_timeout(r, 0.3);
    RecordFile f = { "a", "b", 1 };
    assert_int_equal(records_commit(r, "x", &f, 1, "blocked", NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "rlvr.lock"));
    assert_non_null(strstr(err, "timed out"));
    close(fd);
    assert_int_equal(records_commit(r, "x", &f, 1, "free", NULL, err, sizeof err), 0);

    /* A ref lock left by a killed writer does not block the run forever. */
    snprintf(q, sizeof q, "%s/refs/heads/runs/x.lock", p);
    write_file(q, "0000000000000000000000000000000000000000\n");
    struct timeval old[2];
    gettimeofday(&old[0], NULL);
    old[0].tv_sec -= 60;
    old[1] = old[0];
    assert_int_equal(utimes(q, old), 0);
    records_set_lock_timeout(r, 5);
    if (records_commit(r, "x", &f, 1, "after stale lock", NULL, err, sizeof err) != 0) fail_msg("%s", err);
    RecordCommit *log = NULL;
    int n = 0;
    assert_int_equal(records_log(r, "x", &log, &n, err, sizeof err), 0);
    assert_int_equal(n, 3);
    assert_string_equal(log[0].summary, "after stale lock");
    free(log);
    records_close(r);
}

/* ---------------------------------------------------------------- concurrency */

#define PER_WRITER 30

static void writer(const char *repo, int w, int go_fd) {
    char c;
    if (read(go_fd, &c, 1) != 1) _exit(3);
    char e[1024];
    Records *r = records_open(repo, 1, e, sizeof e);
    if (!r) { fprintf(stderr, "writer %d: %s\n", w, e); _exit(1); }
    char own[32], msg[64], body[64];
    snprintf(own, sizeof own, "w%d", w);
    for (int k = 0; k < PER_WRITER; k++) {
        snprintf(msg, sizeof msg, "w%d #%d", w, k);
        snprintf(body, sizeof body, "{\"writer\":%d,\"k\":%d}\n", w, k);
        RecordFile f[2] = { { "metrics.jsonl", body, strlen(body) }, { "who", own, strlen(own) } };
        if (records_commit(r, "shared", f, 2, msg, NULL, e, sizeof e) != 0 ||
            records_commit(r, own, f, 2, msg, NULL, e, sizeof e) != 0) {
            fprintf(stderr, "writer %d: %s\n", w, e);
            _exit(2);
        }
    }
    records_close(r);
    _exit(0);
}

static void test_concurrent_writers_lose_nothing(void **state) {
    (void)state;
    char repo[512];
    path_in(repo, sizeof repo, "conc/records.git"); /* both writers race to create it too */
    int go[2];
    assert_int_equal(pipe(go), 0);
    pid_t pid[2];
    for (int w = 0; w < 2; w++) {
        pid[w] = fork();
        assert_true(pid[w] >= 0);
        if (pid[w] == 0) { close(go[1]); writer(repo, w, go[0]); }
    }
    close(go[0]);
    assert_int_equal(write(go[1], "gg", 2), 2); /* start both at once */
    close(go[1]);
    for (int w = 0; w < 2; w++) {
        int status = 0;
        assert_int_equal(waitpid(pid[w], &status, 0), pid[w]);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) fail_msg("writer %d failed (status %d)", w, status);
    }

    Records *r = records_open(repo, 0, err, sizeof err);
    if (!r) fail_msg("%s", err);
    char **list = NULL;
    int n = 0;
    assert_int_equal(records_list(r, &list, &n, err, sizeof err), 0);
    assert_int_equal(n, 3);
    assert_string_equal(list[0], "shared");
    assert_string_equal(list[1], "w0");
    assert_string_equal(list[2], "w1");
    free_ids(list, n);

    RecordCommit *log = NULL;
    assert_int_equal(records_log(r, "shared", &log, &n, err, sizeof err), 0);
    assert_int_equal(n, 2 * PER_WRITER);
    int seen[2][PER_WRITER] = { { 0 } }, next[2] = { PER_WRITER - 1, PER_WRITER - 1 };
    for (int i = 0; i < n; i++) {
        int w, k;
        assert_int_equal(sscanf(log[i].summary, "w%d #%d", &w, &k), 2);
        assert_true(w >= 0 && w < 2 && k >= 0 && k < PER_WRITER);
        assert_int_equal(seen[w][k], 0);
        seen[w][k] = 1;
        assert_int_equal(k, next[w]--); /* each writer's commits in its own order, newest first */
        /* Integrity: every commit's tree and blobs read back. */
        char *data = NULL, want[64];
        size_t len;
        if (records_read(r, "shared", log[i].id, "metrics.jsonl", &data, &len, err, sizeof err) != 0)
            fail_msg("%s", err);
        snprintf(want, sizeof want, "{\"writer\":%d,\"k\":%d}\n", w, k);
        assert_string_equal(data, want);
        free(data);
    }
    /* Linear: each commit's first parent is the next one in the log, the last has none. */
    git_libgit2_init();
    git_repository *g = NULL;
    assert_int_equal(git_repository_open_bare(&g, repo), 0);
    for (int i = 0; i < n; i++) {
        git_oid oid;
        git_commit *c = NULL;
        assert_int_equal(git_oid_fromstr(&oid, log[i].id), 0);
        assert_int_equal(git_commit_lookup(&c, g, &oid), 0);
        if (i == n - 1) {
            assert_int_equal(git_commit_parentcount(c), 0);
        } else {
            assert_int_equal(git_commit_parentcount(c), 1);
            char pid_s[41];
            git_oid_tostr(pid_s, sizeof pid_s, git_commit_parent_id(c, 0));
            assert_string_equal(pid_s, log[i + 1].id);
        }
        git_commit_free(c);
    }
    git_repository_free(g);
    git_libgit2_shutdown();
    free(log);
    for (int w = 0; w < 2; w++) {
        char own[16];
        snprintf(own, sizeof own, "w%d", w);
        assert_int_equal(records_log(r, own, &log, &n, err, sizeof err), 0);
        assert_int_equal(n, PER_WRITER);
        free(log);
    }
    records_close(r);

    if (system("git --version >/dev/null 2>&1") == 0) {
        char cmd[1024];
        snprintf(cmd, sizeof cmd, "git --git-dir='%s' fsck --strict --no-progress --no-dangling 2>&1", repo);
        assert_int_equal(system(cmd), 0);
    } else {
        printf("  git binary not found: git fsck skipped\n");
    }
}

/* ---------------------------------------------------------------- crash */

/* Snapshot j's files: large enough that a write takes a while, each naming j. */
static char *snapshot_text(int j, char tag, size_t size) {
    char *s = malloc(size + 1);
    char line[64];
    int ll = snprintf(line, sizeof line, "%c snapshot %d\n", tag, j);
    for (size_t i = 0; i < size; i++) s[i] = line[i % (size_t)ll];
    s[size] = 0;
    return s;
}

static void test_killed_writer_leaves_a_readable_repo(void **state) {
    (void)state;
    char repo[512];
    path_in(repo, sizeof repo, "crash.git");
    const size_t SIZE = 200000;
    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    int total_expected_min = 0;
    for (int round = 0; round < 3; round++) {
        int ready[2];
        assert_int_equal(pipe(ready), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(ready[0]);
            char e[1024];
            Records *r = records_open(repo, 1, e, sizeof e);
            if (!r) { fprintf(stderr, "%s\n", e); _exit(1); }
            for (int j = 0;; j++) {
                char *a = snapshot_text(j, 'a', SIZE), *b = snapshot_text(j, 'b', SIZE / 2), msg[64];
                snprintf(msg, sizeof msg, "round %d snapshot %d", round, j);
                RecordFile f[2] = { { "a.txt", a, SIZE }, { "b.txt", b, SIZE / 2 } };
                if (records_commit(r, "crash", f, 2, msg, NULL, e, sizeof e) != 0) { fprintf(stderr, "%s\n", e); _exit(2); }
                free(a);
                free(b);
                if (j == 0 && write(ready[1], "1", 1) != 1) _exit(3);
            }
        }
        close(ready[1]);
        char c;
        assert_int_equal(read(ready[0], &c, 1), 1);
        close(ready[0]);
        struct timespec ts = { 0, (long)(20 + rand() % 300) * 1000000L };
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        total_expected_min += 1;

        Records *r = records_open(repo, 0, err, sizeof err);
        if (!r) fail_msg("after SIGKILL: %s", err);
        char **list = NULL;
        int n = 0;
        assert_int_equal(records_list(r, &list, &n, err, sizeof err), 0);
        assert_int_equal(n, 1);
        assert_string_equal(list[0], "crash");
        free_ids(list, n);
        char *a = NULL, *b = NULL;
        size_t al, bl;
        if (records_read(r, "crash", NULL, "a.txt", &a, &al, err, sizeof err) != 0) fail_msg("%s", err);
        if (records_read(r, "crash", NULL, "b.txt", &b, &bl, err, sizeof err) != 0) fail_msg("%s", err);
        int j = -1;
        assert_int_equal(sscanf(a, "a snapshot %d", &j), 1);
        char *wa = snapshot_text(j, 'a', SIZE), *wb = snapshot_text(j, 'b', SIZE / 2);
        assert_int_equal(al, SIZE);
        assert_int_equal(bl, SIZE / 2);
        assert_memory_equal(a, wa, SIZE);
        assert_memory_equal(b, wb, SIZE / 2); /* both files from the same snapshot */
        RecordCommit *log = NULL;
        assert_int_equal(records_log(r, "crash", &log, &n, err, sizeof err), 0);
        assert_true(n >= total_expected_min);
        char want[64];
        snprintf(want, sizeof want, "round %d snapshot %d", round, j);
        assert_string_equal(log[0].summary, want);
        printf("  round %d: killed after snapshot %d; %d snapshots in all\n", round, j, n);
        total_expected_min = n;
        free(log);
        free(a); free(b); free(wa); free(wb);
        records_close(r);
    }
    /* And the run can go on. */
    Records *r = records_open(repo, 0, err, sizeof err);
    if (!r) fail_msg("%s", err);
    char id[41];
    records_set_lock_timeout(r, 10);
    commit_ok(r, "crash", "{}", "resumed\n", "resumed", id);
    expect_file(r, "crash", NULL, "metrics.jsonl", "resumed\n");
    records_close(r);
    if (system("git --version >/dev/null 2>&1") == 0) {
        char cmd[1024];
        snprintf(cmd, sizeof cmd, "git --git-dir='%s' fsck --no-progress --no-dangling 2>&1", repo);
        assert_int_equal(system(cmd), 0);
    }
}

/* ---------------------------------------------------------------- provenance */

/* Stage every file named and commit to HEAD in work tree wt. */
static void wt_commit(git_repository *g, const char **names, int n, const char *msg, char out[41]) {
    git_index *idx = NULL;
    git_oid tree_id, cid;
    git_tree *tree = NULL;
    git_signature *sig = NULL;
    git_commit *parent = NULL;
    git_reference *head = NULL;
    assert_int_equal(git_repository_index(&idx, g), 0);
    for (int i = 0; i < n; i++) assert_int_equal(git_index_add_bypath(idx, names[i]), 0);
    assert_int_equal(git_index_write(idx), 0);
    assert_int_equal(git_index_write_tree(&tree_id, idx), 0);
    assert_int_equal(git_tree_lookup(&tree, g, &tree_id), 0);
    assert_int_equal(git_signature_now(&sig, "test", "test@localhost"), 0);
    if (git_repository_head(&head, g) == 0) {
        assert_int_equal(git_reference_peel((git_object **)&parent, head, GIT_OBJECT_COMMIT), 0);
    }
    const git_commit *ps[1] = { parent };
    assert_int_equal(git_commit_create(&cid, g, "HEAD", sig, sig, NULL, msg, tree, parent ? 1 : 0, ps), 0);
    git_oid_tostr(out, 41, &cid);
    git_reference_free(head);
    git_commit_free(parent);
    git_signature_free(sig);
    git_tree_free(tree);
    git_index_free(idx);
}

static void test_provenance(void **state) {
    (void)state;
    char wt[512], f[600], ign[600], untracked[600], big[600], sub[600];
    path_in(wt, sizeof wt, "prov");
    git_libgit2_init();
    git_repository_init_options o;
    git_repository_init_options_init(&o, GIT_REPOSITORY_INIT_OPTIONS_VERSION);
    o.flags = GIT_REPOSITORY_INIT_MKPATH;
    o.initial_head = "main";
    git_repository *g = NULL;
    assert_int_equal(git_repository_init_ext(&g, wt, &o), 0);

    /* Unborn branch: no commit yet. */
    snprintf(f, sizeof f, "%s/train.lua", wt);
    write_file(f, "old line\nsecond\n");
    Provenance p;
    assert_int_equal(provenance_of(f, &p, err, sizeof err), 1);
    assert_string_equal(p.commit, "");
    assert_string_equal(p.branch, "main");
    assert_int_equal(p.dirty, 1); /* an untracked file */
    provenance_free(&p);

    snprintf(ign, sizeof ign, "%s/.gitignore", wt);
    write_file(ign, "*.log\n");
    const char *names[] = { "train.lua", ".gitignore" };
    char cid[41];
    wt_commit(g, names, 2, "first\n", cid);

    snprintf(sub, sizeof sub, "%s/sub", wt);
    mkdir(sub, 0755);
    assert_int_equal(provenance_of(sub, &p, err, sizeof err), 1); /* a directory in the tree */
    assert_string_equal(p.commit, cid);
    assert_string_equal(p.branch, "main");
    assert_int_equal(p.dirty, 0);
    assert_non_null(p.diff);
    assert_string_equal(p.diff, "");
    provenance_free(&p);

    snprintf(untracked, sizeof untracked, "%s/run.log", wt); /* ignored: still clean */
    write_file(untracked, "ignored\n");
    assert_int_equal(provenance_of(f, &p, err, sizeof err), 1);
    assert_int_equal(p.dirty, 0);
    provenance_free(&p);

    write_file(f, "new line\nsecond\n");
    assert_int_equal(provenance_of(f, &p, err, sizeof err), 1);
    assert_string_equal(p.commit, cid);
    assert_int_equal(p.dirty, 1);
    assert_non_null(strstr(p.diff, "--- a/train.lua"));
    assert_non_null(strstr(p.diff, "-old line\n"));
    assert_non_null(strstr(p.diff, "+new line\n"));
    provenance_free(&p);

    /* Untracked, not ignored: dirty, but not in the diff of tracked files. */
    write_file(f, "old line\nsecond\n");
    snprintf(untracked, sizeof untracked, "%s/notes.txt", wt);
    write_file(untracked, "hello\n");
    assert_int_equal(provenance_of(f, &p, err, sizeof err), 1);
    assert_int_equal(p.dirty, 1);
    assert_string_equal(p.diff, "");
    provenance_free(&p);
    unlink(untracked);

    /* A diff over 1 MB is cut, with a marker. */
    snprintf(big, sizeof big, "%s/big.txt", wt);
    FILE *bf = fopen(big, "w");
    for (int i = 0; i < 60000; i++) fprintf(bf, "line %d of the big file\n", i);
    fclose(bf);
    const char *bn[] = { "big.txt" };
    char cid2[41];
    wt_commit(g, bn, 1, "big\n", cid2);
    bf = fopen(big, "w");
    for (int i = 0; i < 60000; i++) fprintf(bf, "LINE %d OF THE BIG FILE\n", i);
    fclose(bf);
    assert_int_equal(provenance_of(f, &p, err, sizeof err), 1);
    assert_string_equal(p.commit, cid2);
    assert_int_equal(p.dirty, 1);
    assert_true(strlen(p.diff) <= (1u << 20) + 200);
    assert_true(strlen(p.diff) > (1u << 20) - 200);
    assert_non_null(strstr(p.diff, "diff cut"));
    provenance_free(&p);

    /* Detached HEAD. */
    git_oid oid;
    assert_int_equal(git_oid_fromstr(&oid, cid), 0);
    assert_int_equal(git_repository_set_head_detached(g, &oid), 0);
    assert_int_equal(provenance_of(f, &p, err, sizeof err), 1);
    assert_string_equal(p.commit, cid);
    assert_string_equal(p.branch, "(detached)");
    provenance_free(&p);
    git_repository_free(g);
    git_libgit2_shutdown();

    /* Outside any work tree; a bare repository is not one either; a missing path errs. */
    char plain[512];
    path_in(plain, sizeof plain, "not-a-tree");
    mkdir(plain, 0755);
    assert_int_equal(provenance_of(plain, &p, err, sizeof err), 0);
    assert_null(p.diff);
    path_in(plain, sizeof plain, "bare.git");
    Records *r = records_open(plain, 1, err, sizeof err);
    assert_non_null(r);
    records_close(r);
    assert_int_equal(provenance_of(plain, &p, err, sizeof err), 0);
    path_in(plain, sizeof plain, "missing/file");
    assert_int_equal(provenance_of(plain, &p, err, sizeof err), -1);
    assert_non_null(strstr(err, plain));
}

/* ---------------------------------------------------------------- main */

static int setup(void **state) {
    (void)state;
    snprintf(g_dir, sizeof g_dir, "/tmp/rlvr-test-records-XXXXXX");
    return mkdtemp(g_dir) ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    rm_rf(g_dir);
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_commit_list_read_log),
        cmocka_unit_test(test_refuses_what_is_not_a_records_repo),
        cmocka_unit_test(test_lock_timeout_and_stale_ref_lock),
        cmocka_unit_test(test_concurrent_writers_lose_nothing),
        cmocka_unit_test(test_killed_writer_leaves_a_readable_repo),
        cmocka_unit_test(test_provenance),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
