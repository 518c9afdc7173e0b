/* pg-login.c: one PostgreSQL login and query; returns the open connection's fd, or -1 with `error` set. */
#ifndef PG_LOGIN_H
#define PG_LOGIN_H
#include <stddef.h>
int pg_login(const char *host, const char *port, const char *user, const char *password, const char *database,
             const char *sql, char *error, size_t errorlen);
#endif
