/*
 * standin-server: a test stand-in for the real EMS/SMS Dart servers (edumigsoft/ems_system @ 6fc6f99,
 * /work/shared/reference/real-system.md §1.1), built by build.sh into images FROM scratch that hold only
 * /app/bin/server. What the infrastructure depends on behaves like the real server:
 *   - the required env, checked in the real order; the first missing one prints
 *     "<NAME> is required but not set in environment" and exits 1 (DB_PORT must be an integer);
 *   - the port is compiled in (-DPORT: EMS 8181, SMS 8080); nothing at run time changes it;
 *   - one global rate limit of 20 requests a minute for every path and client (403 beyond), checked
 *     before the x-api-key (401 without the right key), then the routes:
 *       GET  /api/v1/health          200 {status: ok, version: $APP_VERSION, env: $ENV|$ENVIRONMENT}
 *                                    (a Dart Map.toString, content-type application/health+json)
 *       POST /api/v1/upload?name=F   writes the body to $UPLOAD_PATH/F (default "uploads", relative to /)
 *   - every request appends a line to $HOME/Documents/MeuAppDart/logs/app_logs.txt (HOME unset: /),
 *     truncated at start, folders created;
 *   - SIGTERM is ignored (the Dart server is PID 1 with no handler): `docker stop` kills it after the grace;
 *   - built with -DLOGIN=1 (the `-pg` images, real-system.md §6): after the log file is opened it logs into
 *     PostgreSQL as DB_USER on DB_NAME at DB_HOST:DB_PORT (pg-login.c: SCRAM-SHA-256 or MD5) and runs
 *     `CREATE TABLE IF NOT EXISTS` as the real module init does; a refused login, a missing right or an
 *     unreachable server prints the exception and exits 1 (compose's restart policy makes that a crash
 *     loop). The connection stays open, as the real server's pool keeps it.
 * Bad versions for the tests, chosen at build time with -DMODE: 1 prints an error and exits 3 at start,
 * 2 answers 500 on /api/v1/health.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#ifndef PORT
#error "build with -DPORT=<port>"
#endif
#ifndef MODE
#define MODE 0
#endif
#ifndef LOGIN
#define LOGIN 0
#endif
#if LOGIN
#include "pg-login.h"
#endif

/* What module init runs first (drift_postgres' schema table), so the role's CREATE right is exercised. */
#define STARTUP_SQL "CREATE TABLE IF NOT EXISTS __schema (version integer NOT NULL)"

#define RATE_LIMIT 20
#define RATE_WINDOW_S 60
#define MAX_HEAD 8192
#define MAX_BODY (16 * 1024 * 1024)

static FILE *logfile;
static char api_key[512];
static char version[128];
static char environment[128];
static char upload_dir[1024];

static void log_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void log_line(const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  time_t t = time(NULL);
  char stamp[32];
  strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
  printf("%s INFO %s\n", stamp, msg);
  fflush(stdout);
  if (logfile) {
    fprintf(logfile, "%s INFO %s\n", stamp, msg);
    fflush(logfile);
  }
}

static const char *required(const char *name) {
  const char *v = getenv(name);
  if (!v || !*v) {
    fprintf(stderr, "Unhandled exception:\nBad state: %s is required but not set in environment\n", name);
    exit(1);
  }
  return v;
}

static void mkdirs(const char *path) {
  char buf[1024];
  snprintf(buf, sizeof buf, "%s", path);
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/') continue;
    *p = 0;
    mkdir(buf, 0755);
    *p = '/';
  }
  mkdir(buf, 0755);
}

static void open_log(void) {
  const char *home = getenv("HOME");
  if (!home || !*home) home = "/";
  char dir[1024], file[1100];
  snprintf(dir, sizeof dir, "%s%sDocuments/MeuAppDart/logs", home, home[strlen(home) - 1] == '/' ? "" : "/");
  mkdirs(dir);
  snprintf(file, sizeof file, "%s/app_logs.txt", dir);
  logfile = fopen(file, "w");
  if (!logfile) fprintf(stderr, "cannot open log file %s: %s\n", file, strerror(errno));
}

/* One bucket for everyone: the real limiter keys on context['ip'], which nothing sets. */
static time_t window[RATE_LIMIT];
static int window_next;

static int rate_limited(void) {
  time_t now = time(NULL);
  if (window[window_next] && now - window[window_next] < RATE_WINDOW_S) return 1;
  window[window_next] = now;
  window_next = (window_next + 1) % RATE_LIMIT;
  return 0;
}

static void respond(int fd, int status, const char *type, const char *body) {
  const char *reason = status == 200 ? "OK" : status == 201 ? "Created" : status == 400 ? "Bad Request"
                     : status == 401 ? "Unauthorized" : status == 403 ? "Forbidden" : status == 404 ? "Not Found"
                     : status == 413 ? "Payload Too Large" : "Internal Server Error";
  char head[512];
  int n = snprintf(head, sizeof head, "HTTP/1.1 %d %s\r\ncontent-type: %s\r\ncontent-length: %zu\r\nconnection: close\r\n\r\n",
                   status, reason, type, strlen(body));
  if (write(fd, head, (size_t)n) < 0 || write(fd, body, strlen(body)) < 0) return;
}

/* The value of header `name` (lowercase) in the request head, copied into out; 0 when absent. */
static int header(const char *head, const char *name, char *out, size_t outlen) {
  size_t k = strlen(name);
  for (const char *line = strstr(head, "\r\n"); line && line[2]; line = strstr(line + 2, "\r\n")) {
    const char *h = line + 2;
    if (strncasecmp(h, name, k) || h[k] != ':') continue;
    h += k + 1;
    while (*h == ' ' || *h == '\t') h++;
    const char *end = strstr(h, "\r\n");
    size_t n = end ? (size_t)(end - h) : strlen(h);
    if (n >= outlen) n = outlen - 1;
    memcpy(out, h, n);
    out[n] = 0;
    return 1;
  }
  return 0;
}

static int safe_name(const char *s) {
  if (!*s || !strcmp(s, ".") || !strcmp(s, "..")) return 0;
  for (; *s; s++)
    if (!(*s == '.' || *s == '_' || *s == '-' || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9'))) return 0;
  return 1;
}

static int upload(int fd, const char *query, char *body, size_t have, size_t total, char *msg, size_t msglen) {
  if (strncmp(query, "name=", 5) || !safe_name(query + 5)) return snprintf(msg, msglen, "{error: invalid name}"), 400;
  mkdirs(upload_dir);
  char file[1400];
  snprintf(file, sizeof file, "%s/%s", upload_dir, query + 5);
  FILE *f = fopen(file, "wb");
  if (!f) return snprintf(msg, msglen, "{error: %s}", strerror(errno)), 500;
  fwrite(body, 1, have, f);
  char buf[65536];
  for (size_t left = total - have; left > 0;) {
    ssize_t r = read(fd, buf, left < sizeof buf ? left : sizeof buf);
    if (r <= 0) break;
    fwrite(buf, 1, (size_t)r, f);
    left -= (size_t)r;
    have += (size_t)r;
  }
  fclose(f);
  if (have != total) return snprintf(msg, msglen, "{error: body ended early}"), 400;
  snprintf(msg, msglen, "{path: %s, size: %zu}", file, total);
  return 201;
}

static void serve(int fd) {
  static char buf[MAX_HEAD + 1];
  size_t n = 0;
  char *end = NULL;
  while (!end && n < MAX_HEAD) {
    ssize_t r = read(fd, buf + n, MAX_HEAD - n);
    if (r <= 0) return;
    n += (size_t)r;
    buf[n] = 0;
    end = strstr(buf, "\r\n\r\n");
  }
  if (!end) return respond(fd, 400, "text/plain", "bad request");
  *end = 0;
  char *body = end + 4;
  size_t have = n - (size_t)(body - buf);

  char method[16] = "", target[1024] = "";
  sscanf(buf, "%15s %1023s", method, target);
  char *query = strchr(target, '?');
  if (query) *query++ = 0;
  else query = "";

  int status;
  char msg[2048];
  char key[512] = "";
  if (rate_limited()) {
    status = 403;
    snprintf(msg, sizeof msg, "Too many requests");
  } else if (!header(buf, "x-api-key", key, sizeof key) || strcmp(key, api_key)) {
    status = 401;
    snprintf(msg, sizeof msg, "Unauthorized");
  } else if (!strcmp(method, "GET") && !strcmp(target, "/api/v1/health")) {
    status = MODE == 2 ? 500 : 200;
    snprintf(msg, sizeof msg, "{status: %s, version: %s, env: %s}", MODE == 2 ? "error" : "ok", version, environment);
    respond(fd, status, "application/health+json", msg);
    log_line("%s %s %d", method, target, status);
    return;
  } else if (!strcmp(method, "POST") && !strcmp(target, "/api/v1/upload")) {
    char cl[32] = "0";
    header(buf, "content-length", cl, sizeof cl);
    size_t total = strtoul(cl, NULL, 10);
    if (total > MAX_BODY) status = 413, snprintf(msg, sizeof msg, "{error: too large}");
    else status = upload(fd, query, body, have < total ? have : total, total, msg, sizeof msg);
  } else {
    status = 404;
    snprintf(msg, sizeof msg, "Route not found");
  }
  respond(fd, status, "text/plain; charset=utf-8", msg);
  log_line("%s %s %d", method, target, status);
}

int main(void) {
  signal(SIGTERM, SIG_IGN);
  signal(SIGPIPE, SIG_IGN);
  setvbuf(stdout, NULL, _IOLBF, 0);

  /* The order of the real server's reads (injector.dart, then bin/server.dart). */
  required("JWT_KEY");
  required("VERIFICATION_LINK_BASE_URL");
  const char *db_host = required("DB_HOST");
  const char *db_port = required("DB_PORT");
  char *rest;
  strtol(db_port, &rest, 10);
  if (*rest) {
    fprintf(stderr, "Unhandled exception:\nFormatException: Invalid radix-10 number (at character 1)\n%s\n^\n", db_port);
    exit(1);
  }
  const char *db_user = required("DB_USER");
  const char *db_pass = required("DB_PASS");
  const char *db_name = required("DB_NAME");
  snprintf(api_key, sizeof api_key, "%s", required("API_KEY"));

  const char *v = getenv("APP_VERSION");
  snprintf(version, sizeof version, "%s", v && *v ? v : "unknown");
  v = getenv("ENV");
  if (!v || !*v) v = getenv("ENVIRONMENT");
  snprintf(environment, sizeof environment, "%s", v && *v ? v : "development");
  v = getenv("UPLOAD_PATH");
  snprintf(upload_dir, sizeof upload_dir, "%s", v && *v ? v : "uploads");

  open_log();
  if (MODE == 1) {
    fprintf(stderr, "Unhandled exception:\nPostgreSQLException: migration 0042_notebook_tags failed: relation \"tags\" already exists\n");
    exit(3);
  }
#if LOGIN
  char db_error[512];
  if (pg_login(db_host, db_port, db_user, db_pass, db_name, STARTUP_SQL, db_error, sizeof db_error) < 0) {
    fprintf(stderr, "Unhandled exception:\nPostgreSQLException: %s\n", db_error);
    exit(1);
  }
  log_line("Connected to PostgreSQL %s:%s/%s as %s", db_host, db_port, db_name, db_user);
#else
  (void)db_host, (void)db_user, (void)db_pass, (void)db_name;
#endif

  int s = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(PORT), .sin_addr.s_addr = htonl(INADDR_ANY)};
  if (bind(s, (struct sockaddr *)&addr, sizeof addr) || listen(s, 64)) {
    fprintf(stderr, "cannot listen on 0.0.0.0:%d: %s\n", PORT, strerror(errno));
    exit(1);
  }
  log_line("Server %s (%s) listening on 0.0.0.0:%d", version, environment, PORT);
  for (;;) {
    int c = accept(s, NULL, NULL);
    if (c < 0) continue;
    struct timeval tv = {5, 0};
    setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    serve(c);
    close(c);
  }
}
