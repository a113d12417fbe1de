/* wire_int.h -- what wire.c shares with wire_list.c: packing a reply and
 * the rows of a listing. Private to the two. */
#ifndef PAGEMAP_WIRE_INT_H
#define PAGEMAP_WIRE_INT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* reply -- pack the Response to request @id whose body of kind @k (an
 * enum wire_kind: this header stays below wire.h) is @body (a protobuf-c
 * message), every string made clean first. Returns the packed length or
 * -EMSGSIZE. */
ssize_t reply(uint8_t *out, size_t cap, uint64_t id, int k, void *body);

/* rows_new -- @n pointers to @n zeroed messages of @size bytes each, in
 * one allocation that free() gives back; NULL without memory. The rows
 * of a listing reply are referenced through such a pointer array. */
void **rows_new(size_t n, size_t size);

#endif
