/* holder.c -- a lease holder process for the revoke figures. */
#include "holder.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "proc.h"

pid_t
holder_spawn(struct holder_pipes *hp, int (*fn)(void *), void *arg)
{
	pid_t pid;

	if (pipe2(hp->ids, O_CLOEXEC) || pipe2(hp->cmd, O_CLOEXEC)) {
		say("pipe: %s", strerror(errno));
		return -1;
	}
	pid = proc_spawn(fn, arg);
	if (pid < 0)
		return -1;
	close(hp->ids[1]);
	close(hp->cmd[0]);
	hp->ids[1] = hp->cmd[0] = -1;
	return pid;
}

void
holder_pipes_close(struct holder_pipes *hp)
{
	for (int i = 0; i < 2; i++) {
		if (hp->ids[i] >= 0)
			close(hp->ids[i]);
		if (hp->cmd[i] >= 0)
			close(hp->cmd[i]);
		hp->ids[i] = hp->cmd[i] = -1;
	}
}

int
holder_connect(struct holder_pipes *hp, const char *socket, const char *name,
	       pagemap_recall_fn fn, void *arg, struct pagemap **ret_pm)
{
	close(hp->ids[0]);
	close(hp->cmd[1]);
	signal(SIGPIPE, SIG_IGN);
	if (pagemap_connect(socket, name, ret_pm)) {
		say("holder: cannot connect");
		return -1;
	}
	pagemap_set_recall_handler(*ret_pm, fn, arg);
	return 0;
}

int
holder_send_id(struct holder_pipes *hp, struct pagemap_lease *l)
{
	uint64_t id = pagemap_lease_id(l);

	if (write(hp->ids[1], &id, sizeof(id)) != (ssize_t)sizeof(id))
		return errno == EPIPE ? 1 : -1;
	return 0;
}

int
holder_release(struct pagemap_lease **l)
{
	int err = pagemap_lease_release(*l);

	*l = NULL;
	if (err) {
		say("holder: release: %s", pagemap_strerror(err));
		return -1;
	}
	return 0;
}

int
holder_next_id(int fd, int ms, const char *who, uint64_t *ret_id)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	if (poll(&p, 1, ms) != 1 ||
	    read(fd, ret_id, sizeof(*ret_id)) != (ssize_t)sizeof(*ret_id)) {
		say("the %s holder went quiet", who);
		return -1;
	}
	return 0;
}
