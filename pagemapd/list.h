/* list.h -- an intrusive doubly linked list (inline, no allocation). */
#ifndef PAGEMAP_LIST_H
#define PAGEMAP_LIST_H

#include <stdbool.h>
#include <stddef.h>

/*
 * A list is a head node linked in a ring with the nodes embedded in its
 * members: an empty list's head points at itself, so insertion and removal
 * never test for the ends. A node that is on no list points at itself too
 * (list_init(), list_del()), which makes list_del() safe to repeat.
 */
struct list_node {
	struct list_node *next;
	struct list_node *prev;
};

/* list_entry -- the struct of @type holding @node as its @member. */
#define list_entry(node, type, member)                                       \
	((type *)(void *)((char *)(node)-offsetof(type, member)))

/* list_for_each -- visit every node of @head; @n may be list_del()ed (the
 * next one is read before the body runs). */
#define list_for_each(pos, n, head)                                          \
	for ((pos) = (head)->next, (n) = (pos)->next; (pos) != (head);       \
	     (pos) = (n), (n) = (pos)->next)

/* list_init -- an empty list, or a node on no list. */
static inline void
list_init(struct list_node *h)
{
	h->next = h;
	h->prev = h;
}

/* list_empty -- @h has no member. */
static inline bool
list_empty(const struct list_node *h)
{
	return h->next == h;
}

static inline void
list_insert(struct list_node *n, struct list_node *prev,
	    struct list_node *next)
{
	n->prev = prev;
	n->next = next;
	prev->next = n;
	next->prev = n;
}

/* list_add_head -- put @n first in @h. */
static inline void
list_add_head(struct list_node *h, struct list_node *n)
{
	list_insert(n, h, h->next);
}

/* list_add_tail -- put @n last in @h. */
static inline void
list_add_tail(struct list_node *h, struct list_node *n)
{
	list_insert(n, h->prev, h);
}

/* list_del -- take @n off its list (a node on no list stays so). */
static inline void
list_del(struct list_node *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	list_init(n);
}

#endif
