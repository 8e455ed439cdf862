/*
 * Redis Cluster's client side, the pure part: hash slots (CRC16 with hash
 * tags), MOVED/ASK redirects, and the process-wide slot map that every
 * connection owner (the blocking connections of store.c, the asynchronous ones
 * of voxcartd's workers) routes by.
 *
 * Nothing needs configuring: a store starts by sending everything to the
 * configured server. A single server never redirects, so nothing changes
 * there. A cluster node answers a command for a slot it does not own with
 * MOVED; the caller records the slot's owner, asks for the whole map (CLUSTER
 * SLOTS) and sends the command again to the owner. ASK (a slot being migrated)
 * sends the one command, preceded by ASKING, to the named node without
 * changing the map.
 */
#ifndef VOXCART_CLUSTER_H
#define VOXCART_CLUSTER_H

#include <stddef.h>
#include <stdint.h>

#define VX_CLUSTER_SLOTS     16384
#define VX_CLUSTER_NODES_MAX 64
#define VX_REDIRECTS_MAX     5 /* per command: more means the cluster is reshaping; give up */

/* The hash slot of a key: CRC16 of the hash tag ({...}) when there is a non-empty one. */
uint16_t vx_cluster_slot(const char *key, size_t len);
uint16_t vx_crc16(const char *buf, size_t len);

struct vx_node {
    char host[128];
    int port;
};

/* "MOVED 3999 127.0.0.1:6381" or "ASK ...": 1 with the parts, 0 for any other error text. */
int vx_cluster_redirect_parse(const char *err, int *ask, uint16_t *slot, struct vx_node *node);

/* The process-wide slot map: 0 while no redirect was ever seen (a single server). */
int vx_cluster_active(void);
/* The node owning slot: 1 and *out, or 0 when unknown (send to the configured server). */
int vx_cluster_node_for(uint16_t slot, struct vx_node *out);
/* Records one slot's owner (from MOVED): the map is then refreshed by whoever asks for it. */
void vx_cluster_set_slot(uint16_t slot, const struct vx_node *node);

struct redisReply;
/* Replaces the map from a CLUSTER SLOTS reply; 0, or -1 when the reply is not one. */
int vx_cluster_load_slots(const struct redisReply *r);
/* 1 once when the map should be fetched again (after MOVED); the caller then sends CLUSTER SLOTS.
 */
int vx_cluster_refresh_due(void);
/* Every node of the map (for health checks): the number written to out, at most max. */
size_t vx_cluster_nodes(struct vx_node *out, size_t max);

#endif
