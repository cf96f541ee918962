/* keys.h: dnspersist-ca keys (the key ceremony's commands). */
#ifndef CA_KEYS_H
#define CA_KEYS_H

/* argv[0] is "keys"; returns the exit code. */
int ca_keys(int argc, char **argv);

#endif
