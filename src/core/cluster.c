/*
 * Redis Cluster routing (cluster.h). The slot map is an array of node indexes
 * per slot under a read-write lock: a lookup is one read lock and one array
 * access, a redirect one write lock.
 */
#include "voxcart/cluster.h"
#include "voxcart/common.h"
#include "voxcart/log.h"

#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* CRC16-CCITT (XMODEM), as Redis Cluster specifies it. */
uint16_t vx_crc16(const char *buf, size_t len)
{
    uint16_t crc = 0;
    for (size_t i = 0; i < len; i++) {
        crc = (uint16_t)(crc ^ ((unsigned char)buf[i] << 8));
        for (int b = 0; b < 8; b++)
            crc = (uint16_t)((crc & 0x8000) ? (crc << 1) ^ 0x1021 : crc << 1);
    }
    return crc;
}

uint16_t vx_cluster_slot(const char *key, size_t len)
{
    const char *open = memchr(key, '{', len);
    if (open) {
        size_t rest = len - (size_t)(open - key) - 1;
        const char *close = memchr(open + 1, '}', rest);
        if (close && close > open + 1)
            return vx_crc16(open + 1, (size_t)(close - open - 1)) & (VX_CLUSTER_SLOTS - 1);
    }
    return vx_crc16(key, len) & (VX_CLUSTER_SLOTS - 1);
}

int vx_cluster_redirect_parse(const char *err, int *ask, uint16_t *slot, struct vx_node *node)
{
    const char *p, *colon;
    long long v;
    char num[8];
    size_t n;

    if (strncmp(err, "MOVED ", 6) == 0) {
        *ask = 0;
        p = err + 6;
    } else if (strncmp(err, "ASK ", 4) == 0) {
        *ask = 1;
        p = err + 4;
    } else {
        return 0;
    }
    n = strcspn(p, " ");
    if (n == 0 || n >= sizeof(num) || p[n] != ' ')
        return 0;
    memcpy(num, p, n);
    num[n] = '\0';
    if (vx_parse_ll(num, 0, VX_CLUSTER_SLOTS - 1, &v) != 0)
        return 0;
    *slot = (uint16_t)v;
    p += n + 1;
    colon = strrchr(p, ':');
    if (!colon || colon == p || (size_t)(colon - p) >= sizeof(node->host))
        return 0;
    memcpy(node->host, p, (size_t)(colon - p));
    node->host[colon - p] = '\0';
    if (vx_parse_ll(colon + 1, 1, 65535, &v) != 0)
        return 0;
    node->port = (int)v;
    return 1;
}

/* --- the map --- */

static pthread_rwlock_t map_lock = PTHREAD_RWLOCK_INITIALIZER;
static struct vx_node nodes[VX_CLUSTER_NODES_MAX];
static size_t n_nodes;
static int8_t slot_node[VX_CLUSTER_SLOTS]; /* index into nodes + 1; 0 = unknown */
static atomic_int active;
static atomic_int refresh_due;

int vx_cluster_active(void)
{
    return atomic_load(&active);
}

int vx_cluster_node_for(uint16_t slot, struct vx_node *out)
{
    int i, found = 0;
    if (!atomic_load(&active))
        return 0;
    pthread_rwlock_rdlock(&map_lock);
    i = slot_node[slot & (VX_CLUSTER_SLOTS - 1)];
    if (i > 0) {
        *out = nodes[i - 1];
        found = 1;
    }
    pthread_rwlock_unlock(&map_lock);
    return found;
}

/* The index of node in the table, added when new; -1 when the table is full. Lock held. */
static int node_index(const struct vx_node *node)
{
    for (size_t i = 0; i < n_nodes; i++)
        if (nodes[i].port == node->port && strcmp(nodes[i].host, node->host) == 0)
            return (int)i;
    if (n_nodes >= VX_CLUSTER_NODES_MAX)
        return -1;
    nodes[n_nodes] = *node;
    return (int)n_nodes++;
}

void vx_cluster_set_slot(uint16_t slot, const struct vx_node *node)
{
    int i;
    pthread_rwlock_wrlock(&map_lock);
    i = node_index(node);
    if (i >= 0)
        slot_node[slot & (VX_CLUSTER_SLOTS - 1)] = (int8_t)(i + 1);
    pthread_rwlock_unlock(&map_lock);
    if (!atomic_exchange(&active, 1))
        vx_info("store", "redis answered with a cluster redirect: routing by hash slot");
    atomic_store(&refresh_due, 1);
}

int vx_cluster_refresh_due(void)
{
    return atomic_exchange(&refresh_due, 0);
}

int vx_cluster_load_slots(const struct redisReply *r)
{
    static int8_t next[VX_CLUSTER_SLOTS];
    size_t assigned = 0;
    if (!r || r->type != REDIS_REPLY_ARRAY)
        return -1;
    pthread_rwlock_wrlock(&map_lock);
    memset(next, 0, sizeof(next));
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *e = r->element[i], *m;
        struct vx_node node;
        int idx;
        if (e->type != REDIS_REPLY_ARRAY || e->elements < 3 ||
            e->element[0]->type != REDIS_REPLY_INTEGER ||
            e->element[1]->type != REDIS_REPLY_INTEGER)
            continue;
        m = e->element[2];
        if (m->type != REDIS_REPLY_ARRAY || m->elements < 2 ||
            m->element[0]->type != REDIS_REPLY_STRING ||
            m->element[1]->type != REDIS_REPLY_INTEGER || m->element[0]->len == 0 ||
            m->element[0]->len >= sizeof(node.host))
            continue;
        memcpy(node.host, m->element[0]->str, m->element[0]->len);
        node.host[m->element[0]->len] = '\0';
        node.port = (int)m->element[1]->integer;
        idx = node_index(&node);
        if (idx < 0)
            continue;
        for (long long s = e->element[0]->integer;
             s <= e->element[1]->integer && s < VX_CLUSTER_SLOTS; s++) {
            if (s >= 0) {
                next[s] = (int8_t)(idx + 1);
                assigned++;
            }
        }
    }
    if (assigned)
        memcpy(slot_node, next, sizeof(slot_node));
    pthread_rwlock_unlock(&map_lock);
    if (assigned)
        atomic_store(&active, 1);
    return assigned ? 0 : -1;
}

size_t vx_cluster_nodes(struct vx_node *out, size_t max)
{
    size_t n;
    pthread_rwlock_rdlock(&map_lock);
    n = n_nodes < max ? n_nodes : max;
    memcpy(out, nodes, n * sizeof(*out));
    pthread_rwlock_unlock(&map_lock);
    return n;
}
