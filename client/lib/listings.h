/* listings.h -- the listing calls (regions, files, leases, grants,
 * clients, blockers); they are public only, declared in pagemap.h. */
#ifndef PAGEMAP_LISTINGS_H
#define PAGEMAP_LISTINGS_H

#include "internal.h"

#endif
