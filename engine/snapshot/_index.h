/*
 * engine.snapshot._index's C interface, for other extensions (engine/worker/_fast.c).
 *
 * The module exports a capsule "engine.snapshot._index.CAPI" holding a
 * SmslinkIndexAPI: a caller that holds a TokenIndex object (checked with
 * `type`) hashes the key once, prefetches its slot, does other work while
 * the line arrives, then looks it up: no Python call, no bytes object.
 */
#ifndef SMSLINK_INDEX_H
#define SMSLINK_INDEX_H

#include <Python.h>
#include <stdint.h>

#define SMSLINK_INDEX_CAPI_NAME "engine.snapshot._index.CAPI"
#define SMSLINK_INDEX_CAPI_VERSION 3

typedef struct {
    int version;                 /* SMSLINK_INDEX_CAPI_VERSION */
    size_t size;                 /* sizeof(SmslinkIndexAPI) where it was built: a user checks both */
    PyTypeObject *type;          /* TokenIndex */
    /* 0 when the index is closed (then get raises). */
    int (*is_open)(PyObject *index);
    uint64_t (*hash)(PyObject *index, const char *key, Py_ssize_t len);
    /* Ask for the key's home slot; with ``entry``, read the slot (asked for
     * earlier) and ask for the entry it names when its fingerprint matches.
     * No effect on a closed index; never reads outside the record. */
    void (*prefetch)(PyObject *index, uint64_t hash, int entry);
    /* The value (bytes, a copy), None, or NULL with an exception. */
    PyObject *(*get)(PyObject *index, uint64_t hash, const char *key, Py_ssize_t len);
} SmslinkIndexAPI;

#endif
