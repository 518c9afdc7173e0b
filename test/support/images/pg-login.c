/*
 * pg-login: the stand-in servers' PostgreSQL login at start-up (real-system.md §6: module init runs
 * `CREATE TABLE IF NOT EXISTS` as DB_USER on DB_NAME; a refused login ends the process). Protocol 3.0 over
 * TCP: the startup message, SCRAM-SHA-256 (RFC 5802/7677) or MD5 or trust authentication, one simple query.
 * The connection stays open afterwards, as the real server's pool keeps it (pg_stat_activity shows it).
 * Hashes come from a statically linked libcrypto (libssl-dev).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netdb.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pg-login.h"

static char pg_error[512];

static int fail(const char *fmt, const char *arg) {
  snprintf(pg_error, sizeof pg_error, fmt, arg);
  return -1;
}

static int write_all(int fd, const void *buf, size_t n) {
  const char *p = buf;
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w <= 0) return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static int read_all(int fd, void *buf, size_t n) {
  char *p = buf;
  while (n > 0) {
    ssize_t r = read(fd, p, n);
    if (r <= 0) return -1;
    p += r;
    n -= (size_t)r;
  }
  return 0;
}

/* One backend message: its type and body (malloc'ed, NUL-terminated); -1 on a closed connection. */
static int read_message(int fd, char *type, char **body, uint32_t *len) {
  uint32_t n;
  if (read_all(fd, type, 1) || read_all(fd, &n, 4)) return -1;
  n = ntohl(n);
  if (n < 4 || n > (1u << 24)) return -1;
  *len = n - 4;
  *body = calloc(1, *len + 1);
  if (!*body || read_all(fd, *body, *len)) return -1;
  return 0;
}

/* The M (message) field of an ErrorResponse, as the Dart client's PostgreSQLException prints it. */
static void error_text(const char *body, uint32_t len, char *out, size_t outlen) {
  const char *severity = "", *code = "", *message = "";
  for (const char *p = body; p < body + len && *p;) {
    char field = *p++;
    if (field == 'S') severity = p;
    if (field == 'C') code = p;
    if (field == 'M') message = p;
    p += strlen(p) + 1;
  }
  snprintf(out, outlen, "Severity.%s %s: %s", severity, code, message);
}

static int send_message(int fd, char type, const void *body, size_t n) {
  uint32_t len = htonl((uint32_t)(n + 4));
  return write_all(fd, &type, 1) || write_all(fd, &len, 4) || write_all(fd, body, n) ? -1 : 0;
}

static void hex(const unsigned char *in, size_t n, char *out) {
  for (size_t i = 0; i < n; i++) sprintf(out + 2 * i, "%02x", in[i]);
}

static void md5hex(const char *a, size_t na, const char *b, size_t nb, char out[33]) {
  unsigned char d[16];
  unsigned int dl;
  EVP_MD_CTX *c = EVP_MD_CTX_new();
  EVP_DigestInit_ex(c, EVP_md5(), NULL);
  EVP_DigestUpdate(c, a, na);
  EVP_DigestUpdate(c, b, nb);
  EVP_DigestFinal_ex(c, d, &dl);
  EVP_MD_CTX_free(c);
  hex(d, 16, out);
}

static int md5_auth(int fd, const char *user, const char *password, const char *salt) {
  char inner[33], outer[36] = "md5";
  md5hex(password, strlen(password), user, strlen(user), inner);
  md5hex(inner, 32, salt, 4, outer + 3);
  return send_message(fd, 'p', outer, strlen(outer) + 1);
}

/* The value of attribute `k` (`k=...`) in a SCRAM message, copied into out. */
static int scram_attr(const char *msg, char k, char *out, size_t outlen) {
  for (const char *p = msg; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL) {
    if (p[0] != k || p[1] != '=') continue;
    const char *end = strchr(p, ',');
    size_t n = end ? (size_t)(end - p - 2) : strlen(p + 2);
    if (n >= outlen) return -1;
    memcpy(out, p + 2, n);
    out[n] = 0;
    return 0;
  }
  return -1;
}

static int scram_auth(int fd, const char *password) {
  unsigned char raw[18];
  char nonce[32], first_bare[64];
  RAND_bytes(raw, sizeof raw);
  EVP_EncodeBlock((unsigned char *)nonce, raw, sizeof raw);
  snprintf(first_bare, sizeof first_bare, "n=,r=%s", nonce);
  char init[128];
  const char *mech = "SCRAM-SHA-256";
  size_t ml = strlen(mech) + 1;
  uint32_t fl = (uint32_t)strlen(first_bare) + 3;
  memcpy(init, mech, ml);
  uint32_t nfl = htonl(fl);
  memcpy(init + ml, &nfl, 4);
  snprintf(init + ml + 4, sizeof init - ml - 4, "n,,%s", first_bare);
  if (send_message(fd, 'p', init, ml + 4 + fl)) return fail("%s", "connection closed during SCRAM");

  char type, *body;
  uint32_t len;
  if (read_message(fd, &type, &body, &len)) return fail("%s", "connection closed during SCRAM");
  if (type == 'E') {
    error_text(body, len, pg_error, sizeof pg_error);
    free(body);
    return -1;
  }
  if (type != 'R' || len < 4 || ntohl(*(uint32_t *)body) != 11) return free(body), fail("%s", "expected SASLContinue");
  char *server_first = body + 4;
  char r[256], s64[256], i[16];
  if (scram_attr(server_first, 'r', r, sizeof r) || scram_attr(server_first, 's', s64, sizeof s64) ||
      scram_attr(server_first, 'i', i, sizeof i) || strncmp(r, nonce, strlen(nonce)))
    return free(body), fail("%s", "bad SCRAM server-first-message");
  unsigned char salt[192];
  int sl = EVP_DecodeBlock(salt, (unsigned char *)s64, (int)strlen(s64));
  if (sl < 0) return free(body), fail("%s", "bad SCRAM salt");
  for (size_t k = strlen(s64); k > 0 && s64[k - 1] == '='; k--) sl--;

  unsigned char salted[32], client_key[32], stored_key[32], signature[32], proof[32];
  unsigned int n32 = 32;
  PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt, sl, atoi(i), EVP_sha256(), 32, salted);
  HMAC(EVP_sha256(), salted, 32, (const unsigned char *)"Client Key", 10, client_key, &n32);
  EVP_Digest(client_key, 32, stored_key, NULL, EVP_sha256(), NULL);
  char without_proof[320], auth_message[1024];
  snprintf(without_proof, sizeof without_proof, "c=biws,r=%s", r);
  snprintf(auth_message, sizeof auth_message, "%s,%s,%s", first_bare, server_first, without_proof);
  free(body);
  HMAC(EVP_sha256(), stored_key, 32, (const unsigned char *)auth_message, strlen(auth_message), signature, &n32);
  for (int k = 0; k < 32; k++) proof[k] = client_key[k] ^ signature[k];
  char final[512], proof64[64];
  EVP_EncodeBlock((unsigned char *)proof64, proof, 32);
  snprintf(final, sizeof final, "%s,p=%s", without_proof, proof64);
  return send_message(fd, 'p', final, strlen(final)) ? fail("%s", "connection closed during SCRAM") : 0;
}

static int connect_to(const char *host, const char *port) {
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res, *a;
  int rc = getaddrinfo(host, port, &hints, &res);
  if (rc) {
    snprintf(pg_error, sizeof pg_error, "SocketException: Failed host lookup: '%s' (%s)", host, gai_strerror(rc));
    return -1;
  }
  int fd = -1;
  for (a = res; a; a = a->ai_next) {
    fd = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
    if (fd >= 0 && connect(fd, a->ai_addr, a->ai_addrlen) == 0) break;
    if (fd >= 0) close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  if (fd < 0) snprintf(pg_error, sizeof pg_error, "SocketException: Connection refused (%s:%s)", host, port);
  return fd;
}

/* Waits for ReadyForQuery; an ErrorResponse on the way is the failure. */
static int until_ready(int fd, const char *user, const char *password) {
  for (;;) {
    char type, *body;
    uint32_t len;
    if (read_message(fd, &type, &body, &len)) return fail("%s", "the server closed the connection");
    int rc = 0;
    if (type == 'E') {
      error_text(body, len, pg_error, sizeof pg_error);
      rc = -1;
    } else if (type == 'R') {
      uint32_t code = ntohl(*(uint32_t *)body);
      if (code == 5) rc = md5_auth(fd, user, password, body + 4);
      else if (code == 10) {
        int scram = 0;
        for (char *m = body + 4; m < body + len && *m; m += strlen(m) + 1) scram |= !strcmp(m, "SCRAM-SHA-256");
        rc = scram ? scram_auth(fd, password) : fail("%s", "no supported SASL mechanism");
      } else if (code != 0 && code != 12) {
        snprintf(pg_error, sizeof pg_error, "unsupported authentication request %u", code);
        rc = -1;
      }
    } else if (type == 'Z') {
      free(body);
      return 0;
    }
    free(body);
    if (rc) return -1;
  }
}

int pg_login(const char *host, const char *port, const char *user, const char *password, const char *database,
             const char *sql, char *error, size_t errorlen) {
  pg_error[0] = 0;
  int fd = connect_to(host, port);
  if (fd >= 0) {
    char startup[1024];
    size_t n = 8;
    n += (size_t)snprintf(startup + n, sizeof startup - n, "user%c%s%cdatabase%c%s%c", 0, user, 0, 0, database, 0);
    startup[n++] = 0;
    uint32_t len = htonl((uint32_t)n), version = htonl(196608);
    memcpy(startup, &len, 4);
    memcpy(startup + 4, &version, 4);
    if (write_all(fd, startup, n) || until_ready(fd, user, password) ||
        send_message(fd, 'Q', sql, strlen(sql) + 1) || until_ready(fd, user, password)) {
      close(fd);
      fd = -1;
    }
  }
  snprintf(error, errorlen, "%s", pg_error[0] ? pg_error : "the server closed the connection");
  return fd;
}
