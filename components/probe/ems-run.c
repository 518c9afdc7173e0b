/*
 * ems-run: launcher and healthcheck probe for the EMS/SMS API containers (images FROM scratch: no shell,
 * no wget, no curl). Freestanding x86_64 Linux: raw syscalls, no libc (see README.md, build.sh).
 *
 *   ems-run CMD [ARGS...]
 *     Reads the secrets file (default /run/ems/secrets.env; a missing file is not an error), adds each
 *     NAME=value line to the environment (replacing a variable of the same name), then execve(CMD, ARGS):
 *     CMD replaces ems-run and keeps its PID (PID 1 in the container). exit 127 when CMD cannot be run.
 *   ems-run --probe PORT PATH
 *     GET PATH from 127.0.0.1:PORT over HTTP/1.0 with `x-api-key: <API_KEY>` (from the secrets file, else
 *     the environment) and `Connection: close`, bounded by 4 s in total. exit 0 only for status 200.
 *     Prints `ems-run: probe http://127.0.0.1:PORT PATH -> STATUS`, never the key.
 *   ems-run --probe PORT PATH [--accept-rate-limited] [--no-key]
 *     --accept-rate-limited: 403 also passes. The servers share one bucket of 20 requests a minute for every
 *     client, checked before anything else, so under load the probe itself gets 403 from a server that is up
 *     and serving; without this, three such answers in a row would mark it unhealthy and Traefik would drop it.
 *     --no-key: send no x-api-key (a public health route, e.g. Portainer's /api/system/status).
 *
 * Secrets file: lines `NAME=value` (NAME matching [A-Z_][A-Z0-9_]*, value any bytes but NUL and CR);
 * empty lines and lines starting with `#` are skipped. Anything else: exit 1 naming the line number, never
 * its content. It must be a regular file: it is opened without blocking (a FIFO never holds ems-run), and a
 * time limit is armed before anything is opened (cancelled before the launcher's execve).
 * EMS_RUN_SECRETS overrides the file's path (the host tests use it).
 *
 * Every buffer is bounded: an input that does not fit (a key from the environment, a path) is refused, never
 * cut or overrun. Built with -DEMS_RUN_HOSTED it is an ordinary hosted program (libc's main and mem*),
 * which the tests build with -fsanitize=address,undefined and fuzz.
 */

#ifdef EMS_RUN_HOSTED
#include <string.h>
#else
typedef unsigned long size_t;
#endif

#define SYS_read 0
#define SYS_write 1
#define SYS_open 2
#define SYS_close 3
#define SYS_fstat 5
#define SYS_poll 7
#define SYS_alarm 37
#define SYS_socket 41
#define SYS_connect 42
#define SYS_getsockopt 55
#define SYS_execve 59
#define SYS_exit 60
#define SYS_clock_gettime 228

#define ENOENT 2
#define ENOEXEC 8
#define EACCES 13
#define EINTR 4
#define EAGAIN 11
#define EINPROGRESS 115
#define ECONNREFUSED 111

#define PROBE_MS 4000
#define LAUNCH_LIMIT_S 10
#define MAX_FILE 65536
#define MAX_ENV 1024
#define MAX_KEY 1024

static long sys3(long n, long a, long b, long c) {
  long r;
  __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
  return r;
}

static long sys5(long n, long a, long b, long c, long d, long e) {
  long r;
  register long r10 __asm__("r10") = d;
  register long r8 __asm__("r8") = e;
  __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8) : "rcx", "r11", "memory");
  return r;
}

#ifndef EMS_RUN_HOSTED
/* gcc may emit calls to these even in freestanding code. */
void *memset(void *d, int c, size_t n) {
  unsigned char *p = d;
  while (n--) *p++ = (unsigned char)c;
  return d;
}
void *memcpy(void *d, const void *s, size_t n) {
  unsigned char *p = d;
  const unsigned char *q = s;
  while (n--) *p++ = *q++;
  return d;
}

int memcmp(const void *a, const void *b, size_t n) {
  const unsigned char *p = a, *q = b;
  for (; n; n--, p++, q++)
    if (*p != *q) return *p - *q;
  return 0;
}
#endif

static __attribute__((noreturn)) void quit(int code) {
  for (;;) sys3(SYS_exit, code, 0, 0);
}

static size_t len(const char *s) {
  size_t n = 0;
  while (s[n]) n++;
  return n;
}

static int same(const char *a, const char *b) {
  while (*a && *a == *b) a++, b++;
  return *a == *b;
}

/* --- output: one line assembled in a buffer, written at once ------------------------------------- */

static char out[512];
static size_t outn;

static void put(const char *s) {
  while (*s && outn < sizeof out - 1) out[outn++] = *s++;
}

static void putnum(unsigned long v) {
  char d[24];
  int i = 0;
  do d[i++] = (char)('0' + v % 10), v /= 10;
  while (v);
  while (i) {
    char c[2] = {d[--i], 0};
    put(c);
  }
}

static void flush(int fd) {
  if (outn > sizeof out - 1) outn = sizeof out - 1;
  out[outn++] = '\n';
  sys3(SYS_write, fd, (long)out, (long)outn);
  outn = 0;
}

static __attribute__((noreturn)) void fail(int code) {
  flush(2);
  quit(code);
}

static const char *errname(long e) {
  switch (e) {
    case ENOENT: return "no such file or directory";
    case EACCES: return "permission denied";
    case ENOEXEC: return "exec format error";
    case ECONNREFUSED: return "connection refused";
    default: return 0;
  }
}

static void puterr(long e) {
  const char *s = errname(e);
  if (s) put(s);
  else put("errno "), putnum((unsigned long)e);
}

/* --- the secrets file ----------------------------------------------------------------------------- */

static char file[MAX_FILE + 1];
static char *secrets[MAX_ENV]; /* pointers into file, each "NAME=value", NUL-terminated */
static int nsecrets;

static int name_char(char c, int first) {
  return (c >= 'A' && c <= 'Z') || c == '_' || (!first && c >= '0' && c <= '9');
}

/* Length of the NAME in "NAME=value", or 0 when the entry is not one. */
static size_t name_len(const char *e) {
  size_t i = 0;
  while (name_char(e[i], i == 0)) i++;
  return e[i] == '=' ? i : 0;
}

static void bad_line(const char *path, unsigned long line, const char *why) {
  put("ems-run: ");
  put(path);
  put(" line ");
  putnum(line);
  put(": ");
  put(why);
  fail(1);
}

/* struct stat of x86_64 Linux: st_mode is the 32-bit field at byte 24. */
struct stat_k { unsigned long dev, ino, nlink; unsigned int mode, uid, gid, pad; long rest[15]; };

static void load_secrets(const char *path) {
  /* O_RDONLY | O_NONBLOCK | O_CLOEXEC: opening a FIFO does not wait for a writer. */
  long fd = sys3(SYS_open, (long)path, 04000 | 02000000, 0);
  if (fd == -ENOENT) return;
  if (fd < 0) put("ems-run: cannot open "), put(path), put(": "), puterr(-fd), fail(1);
  struct stat_k st;
  long sr = sys3(SYS_fstat, fd, (long)&st, 0);
  if (sr < 0) put("ems-run: cannot stat "), put(path), put(": "), puterr(-sr), fail(1);
  if ((st.mode & 0170000) != 0100000) put("ems-run: "), put(path), put(" is not a regular file"), fail(1);
  size_t n = 0;
  for (;;) {
    long r = sys3(SYS_read, fd, (long)(file + n), (long)(MAX_FILE + 1 - n));
    if (r == -EINTR) continue;
    if (r < 0) put("ems-run: cannot read "), put(path), put(": "), puterr(-r), fail(1);
    if (r == 0) break;
    n += (size_t)r;
    if (n > MAX_FILE) put("ems-run: "), put(path), put(" is larger than 64 KiB"), fail(1);
  }
  sys3(SYS_close, fd, 0, 0);
  file[n] = 0;

  unsigned long line = 0;
  for (size_t i = 0; i < n;) {
    line++;
    size_t start = i;
    while (i < n && file[i] != '\n') {
      if (file[i] == 0) bad_line(path, line, "contains a NUL byte");
      if (file[i] == '\r') bad_line(path, line, "contains a carriage return (CRLF line ends?)");
      i++;
    }
    file[i] = 0; /* the newline, or the terminator after the last line */
    i++;
    char *entry = file + start;
    if (entry[0] == 0 || entry[0] == '#') continue;
    if (!name_len(entry)) bad_line(path, line, "is not NAME=value with NAME matching [A-Z_][A-Z0-9_]*");
    if (nsecrets == MAX_ENV) bad_line(path, line, "too many variables");
    secrets[nsecrets++] = entry;
  }
}

/* The value of NAME among the secrets (the last line wins), else among envp, else 0. */
static const char *lookup(const char *name, char **envp) {
  size_t k = len(name);
  for (int i = nsecrets - 1; i >= 0; i--)
    if (name_len(secrets[i]) == k && !__builtin_memcmp(secrets[i], name, k)) return secrets[i] + k + 1;
  for (; *envp; envp++)
    if (name_len(*envp) == k && !__builtin_memcmp(*envp, name, k)) return *envp + k + 1;
  return 0;
}

static const char *secrets_path(char **envp) {
  for (char **e = envp; *e; e++)
    if (name_len(*e) == 15 && !__builtin_memcmp(*e, "EMS_RUN_SECRETS", 15)) return *e + 16;
  return "/run/ems/secrets.env";
}

/* --- launcher ------------------------------------------------------------------------------------- */

static void usage(const char *why);

static char *newenv[2 * MAX_ENV + 1];

/* True when a later secret sets the same name as entry (so entry is replaced). */
static int overridden(const char *entry, int from) {
  size_t k = name_len(entry);
  if (!k) return 0;
  for (int i = from; i < nsecrets; i++)
    if (name_len(secrets[i]) == k && !__builtin_memcmp(secrets[i], entry, k)) return 1;
  return 0;
}

static __attribute__((noreturn)) void launch(char **argv, char **envp) {
  int n = 0;
  if (!argv[0] || !argv[0][0]) usage("no command");
  for (char **e = envp; *e; e++) {
    if (overridden(*e, 0)) continue;
    if (n == MAX_ENV) put("ems-run: too many environment variables"), fail(1);
    newenv[n++] = *e;
  }
  for (int i = 0; i < nsecrets; i++)
    if (!overridden(secrets[i], i + 1)) newenv[n++] = secrets[i];
  newenv[n] = 0;
  sys3(SYS_alarm, 0, 0, 0); /* the time limit guarded the file, never the command */
  long r = sys3(SYS_execve, (long)argv[0], (long)argv, (long)newenv);
  put("ems-run: cannot execute ");
  put(argv[0]);
  put(": ");
  puterr(-r);
  fail(127);
}

/* --- probe ---------------------------------------------------------------------------------------- */

struct timespec_k { long sec, nsec; };
struct pollfd_k { int fd; short events, revents; };
struct sockaddr_in_k { unsigned short family, port; unsigned int addr; unsigned char zero[8]; };

static long now_ms(void) {
  struct timespec_k t;
  sys3(SYS_clock_gettime, 1 /* CLOCK_MONOTONIC */, (long)&t, 0);
  return t.sec * 1000 + t.nsec / 1000000;
}

static long deadline;

/* Waits for `events` on fd until the deadline: 1 ready, 0 timed out. */
static int wait_for(int fd, short events) {
  for (;;) {
    long left = deadline - now_ms();
    if (left <= 0) return 0;
    struct pollfd_k p = {fd, events, 0};
    long r = sys3(SYS_poll, (long)&p, 1, left);
    if (r == -EINTR) continue;
    return r > 0;
  }
}

static char probe_url[256];

static __attribute__((noreturn)) void verdict(const char *what, long err, int code) {
  put("ems-run: probe ");
  put(probe_url);
  put(" -> ");
  put(what);
  if (err) puterr(err);
  flush(1);
  quit(code);
}

/* Exit 2 for a bad launcher call; 1 for a bad probe call (Docker reserves 2 for healthchecks). */
static int usage_code = 2;

static void usage(const char *why) {
  put("ems-run: ");
  put(why);
  put(" (usage: ems-run CMD [ARGS...] | ems-run --probe PORT PATH [--accept-rate-limited] [--no-key])");
  fail(usage_code);
}

static int accept_rate_limited;
static int no_key;

static __attribute__((noreturn)) void probe(const char *port_s, const char *path, char **envp) {
  sys3(SYS_alarm, PROBE_MS / 1000 + 2, 0, 0); /* backstop, before anything is opened: SIGALRM kills the probe */
  unsigned long port = 0;
  const char *c = port_s;
  if (!*c) usage("PORT must be 1-65535");
  for (; *c; c++) {
    if (*c < '0' || *c > '9' || port > 65535) usage("PORT must be 1-65535");
    port = port * 10 + (unsigned long)(*c - '0');
  }
  if (port < 1 || port > 65535) usage("PORT must be 1-65535");
  if (path[0] != '/' || len(path) > 200) usage("PATH must start with / (at most 200 characters)");
  for (c = path; *c; c++)
    if (*c == '\r' || *c == '\n' || *c == ' ' || *c == '\t') usage("PATH must not contain spaces or line breaks");

  put("http://127.0.0.1:");
  putnum(port);
  put(path);
  memcpy(probe_url, out, outn < sizeof probe_url - 1 ? outn : sizeof probe_url - 1);
  outn = 0;

  const char *key = "";
  if (!no_key) {
    load_secrets(secrets_path(envp));
    key = lookup("API_KEY", envp);
    if (!key || !*key) put("ems-run: no API_KEY in the secrets file or the environment"), fail(1);
    if (len(key) > MAX_KEY) put("ems-run: API_KEY is longer than 1024 bytes"), fail(1);
    for (c = key; *c; c++)
      if (*c == '\r' || *c == '\n') put("ems-run: API_KEY contains a line break"), fail(1);
  }

  static char req[MAX_KEY + 512];
  size_t n = 0;
  const char *parts[] = {"GET ", path, " HTTP/1.0\r\nHost: 127.0.0.1\r\nUser-Agent: ems-run\r\n",
                         no_key ? "" : "x-api-key: ", key, no_key ? "" : "\r\n", "Connection: close\r\n\r\n"};
  for (int i = 0; i < 7; i++) {
    size_t k = len(parts[i]);
    if (k > sizeof req - n) put("ems-run: the request does not fit"), fail(1);
    memcpy(req + n, parts[i], k);
    n += k;
  }

  deadline = now_ms() + PROBE_MS;
  long fd = sys3(SYS_socket, 2 /* AF_INET */, 1 | 04000 /* SOCK_STREAM | SOCK_NONBLOCK */, 0);
  if (fd < 0) verdict("socket failed: ", -fd, 1);
  struct sockaddr_in_k addr = {2, (unsigned short)((port >> 8) | ((port & 0xff) << 8)), 0x0100007f, {0}};
  long r = sys3(SYS_connect, fd, (long)&addr, sizeof addr);
  if (r == -EINPROGRESS) {
    if (!wait_for((int)fd, 4 /* POLLOUT */)) verdict("timeout (connect)", 0, 1);
    int err = 0;
    int elen = sizeof err;
    sys5(SYS_getsockopt, fd, 1 /* SOL_SOCKET */, 4 /* SO_ERROR */, (long)&err, (long)&elen);
    r = -err;
  }
  if (r < 0) verdict("", -r, 1);

  for (size_t sent = 0; sent < n;) {
    r = sys3(SYS_write, fd, (long)(req + sent), (long)(n - sent));
    if (r == -EAGAIN || r == -EINTR) {
      if (!wait_for((int)fd, 4)) verdict("timeout (send)", 0, 1);
      continue;
    }
    if (r < 0) verdict("send failed: ", -r, 1);
    sent += (size_t)r;
  }

  /* The status line: "HTTP/1.0 NNN " or "HTTP/1.1 NNN ", the space after the code included. */
  char head[64];
  size_t got = 0;
  while (got < 13) {
    r = sys3(SYS_read, fd, (long)(head + got), (long)(sizeof head - got));
    if (r == -EAGAIN || r == -EINTR) {
      if (!wait_for((int)fd, 1 /* POLLIN */)) verdict("timeout (no answer)", 0, 1);
      continue;
    }
    if (r < 0) verdict("receive failed: ", -r, 1);
    if (r == 0) break;
    got += (size_t)r;
  }
  sys3(SYS_close, fd, 0, 0);
  if (got < 13 || __builtin_memcmp(head, "HTTP/1.", 7) || (head[7] != '0' && head[7] != '1') || head[8] != ' ' ||
      head[9] < '1' || head[9] > '5' || head[10] < '0' || head[10] > '9' || head[11] < '0' || head[11] > '9' ||
      head[12] != ' ')
    verdict("not an HTTP answer", 0, 1);
  char status[4] = {head[9], head[10], head[11], 0};
  if (accept_rate_limited && same(status, "403")) verdict("403 (rate limited: the server is up)", 0, 0);
  verdict(status, 0, same(status, "200") ? 0 : 1);
}

/* --- entry ---------------------------------------------------------------------------------------- */

static __attribute__((noreturn)) void run(int argc, char **argv, char **envp) {
  if (argc < 2) usage("no command");
  if (same(argv[1], "--probe")) {
    usage_code = 1;
    if (argc < 4) usage("--probe takes PORT and PATH");
    for (int i = 4; i < argc; i++) {
      if (same(argv[i], "--accept-rate-limited")) accept_rate_limited = 1;
      else if (same(argv[i], "--no-key")) no_key = 1;
      else usage("after PORT and PATH, --probe takes only --accept-rate-limited and --no-key");
    }
    probe(argv[2], argv[3], envp);
  }
  sys3(SYS_alarm, LAUNCH_LIMIT_S, 0, 0); /* armed before the file is opened, cancelled before execve */
  load_secrets(secrets_path(envp));
  launch(argv + 1, envp);
}

#ifdef EMS_RUN_HOSTED
int main(int argc, char **argv, char **envp) { run(argc, argv, envp); }
#else
__attribute__((used, noreturn)) void start_c(long *sp) {
  int argc = (int)sp[0];
  char **argv = (char **)(sp + 1);
  run(argc, argv, argv + argc + 1);
}

__asm__(
    ".text\n"
    ".global _start\n"
    "_start:\n"
    "  xor %rbp, %rbp\n"
    "  mov %rsp, %rdi\n"
    "  and $-16, %rsp\n"
    "  call start_c\n"
    "  hlt\n");
#endif
