/* migrate.h: dnspersist-ca migrate (an embedded CA moved to PostgreSQL). */
#ifndef CA_MIGRATE_H
#define CA_MIGRATE_H

/* argv[0] is "migrate"; returns the exit code. */
int ca_migrate(int argc, char **argv);

#endif
