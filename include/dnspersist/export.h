/* Symbol visibility for libdnspersist: everything is hidden unless marked DP_API. */
#ifndef DNSPERSIST_EXPORT_H
#define DNSPERSIST_EXPORT_H

#if defined(__GNUC__) || defined(__clang__)
#define DP_API __attribute__((visibility("default")))
#else
#define DP_API
#endif

#endif
