/*
 * engine.snapshot._index: the snapshot's token hash index, read in C.
 *
 * engine/snapshot/_tokenindex.py has the record's layout, the builder and the
 * same algorithm in Python (the reference; tests hold the two equal).
 * TokenIndex(record) holds a buffer of the record (a view into the snapshot's
 * memory map); calling it with a key gives a copy of the value (bytes: a view
 * would outlive close() and the map), or None: a drop-in for LMDB's get. close() releases the buffer
 * before the snapshot unmaps it; a closed index raises. Every offset read from
 * the record is checked against its length, so a damaged record answers None
 * or raises, and never reads outside it. entries() walks them in key order.
 *
 * Other extensions call it through the capsule declared in _index.h.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "_index.h"

#ifndef SMSLINK_INDEX_SOURCE
#define SMSLINK_INDEX_SOURCE "unknown"
#endif

#define TI_HEADER 32
#define TI_FP_BITS 24
typedef struct {
    PyObject_HEAD
    Py_buffer view;
    int open;
    const unsigned char *base;
    uint64_t len, slots, mask, seed, n;
    vectorcallfunc vcall;
} TokenIndex;
static PyTypeObject TokenIndexType;

/* The record is little-endian. */
static inline uint64_t rd64(const unsigned char *p) {
    uint64_t v;
    memcpy(&v, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}
static inline uint32_t rd32(const unsigned char *p) {
    uint32_t v;
    memcpy(&v, p, 4);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap32(v);
#endif
    return v;
}

static inline uint64_t ti_hash(uint64_t seed, const char *k, Py_ssize_t n) {
    uint64_t h = 0xcbf29ce484222325ULL ^ seed;
    for (Py_ssize_t i = 0; i < n; i++) {
        h ^= (unsigned char)k[i];
        h *= 0x100000001b3ULL;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

/* 1 (with val and vlen set): found; 0: not there; -1: the record is damaged (no exception set). */
static int ti_find(TokenIndex *t, uint64_t h, const char *key, Py_ssize_t klen,
                   const unsigned char **val, uint32_t *vlen) {
    uint64_t i = h & t->mask, fp = h >> (64 - TI_FP_BITS);
    const unsigned char *slots = t->base + TI_HEADER;
    for (uint64_t step = 0; step < t->slots; step++) {
        uint64_t s = rd64(slots + 8 * i);
        if (!s) return 0;
        if ((s & ((1u << TI_FP_BITS) - 1)) == fp) {
            uint64_t off = s >> TI_FP_BITS;
            if (off >= t->len) return -1;
            const unsigned char *e = t->base + off;
            uint64_t kl = e[0];
            if (off + 1 + kl + 4 > t->len) return -1;
            if ((Py_ssize_t)kl == klen && memcmp(e + 1, key, (size_t)klen) == 0) {
                uint32_t vl = rd32(e + 1 + kl);
                if (off + 5 + kl + vl > t->len) return -1;
                *val = e + 5 + kl;
                *vlen = vl;
                return 1;
            }
        }
        i = (i + 1) & t->mask;
    }
    return 0;
}

static PyObject *ti_get_hashed(TokenIndex *t, uint64_t h, const char *key, Py_ssize_t klen) {
    if (!t->open) {
        PyErr_SetString(PyExc_ValueError, "the token index is closed (its snapshot was closed)");
        return NULL;
    }
    const unsigned char *val;
    uint32_t vlen;
    int r = ti_find(t, h, key, klen, &val, &vlen);
    if (r < 0) {
        PyErr_SetString(PyExc_ValueError, "the token index record is damaged; republish the snapshot");
        return NULL;
    }
    if (!r) Py_RETURN_NONE;
    /* a copy, not a view: a view would outlive close() and the map */
    return PyBytes_FromStringAndSize((const char *)val, (Py_ssize_t)vlen);
}

static PyObject *ti_get(TokenIndex *t, const char *key, Py_ssize_t klen) {
    return ti_get_hashed(t, t->open ? ti_hash(t->seed, key, klen) : 0, key, klen);
}

static int TokenIndex_init(TokenIndex *self, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"record", NULL};
    PyObject *rec;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O:TokenIndex", kwlist, &rec)) return -1;
    if (self->open) {
        PyBuffer_Release(&self->view);
        self->open = 0;
    }
    if (PyObject_GetBuffer(rec, &self->view, PyBUF_SIMPLE) < 0) return -1;
    const unsigned char *b = self->view.buf;
    uint64_t len = (uint64_t)self->view.len;
    uint64_t slots = len >= TI_HEADER ? rd64(b + 8) : 0;
    if (len < TI_HEADER || memcmp(b, "SLTX", 4) != 0 || rd32(b + 4) != 1 || slots < 1 ||
        (slots & (slots - 1)) != 0 || slots > (len - TI_HEADER) / 8) {
        PyBuffer_Release(&self->view);
        PyErr_SetString(PyExc_ValueError, "not a token index record (format 1)");
        return -1;
    }
    self->base = b;
    self->len = len;
    self->slots = slots;
    self->mask = slots - 1;
    self->n = rd64(b + 16);
    self->seed = rd64(b + 24);
    self->open = 1;
    return 0;
}

static PyObject *TokenIndex_vcall(PyObject *self, PyObject *const *args, size_t nargsf, PyObject *kwn) {
    if (PyVectorcall_NARGS(nargsf) != 1 || kwn) {
        PyErr_SetString(PyExc_TypeError, "TokenIndex(key): one bytes argument");
        return NULL;
    }
    PyObject *k = args[0];
    if (!PyBytes_Check(k)) {
        PyErr_SetString(PyExc_TypeError, "TokenIndex(key): key must be bytes");
        return NULL;
    }
    return ti_get((TokenIndex *)self, PyBytes_AS_STRING(k), PyBytes_GET_SIZE(k));
}

static PyObject *TokenIndex_call(PyObject *self, PyObject *args, PyObject *kw) {
    return PyVectorcall_Call(self, args, kw);
}

/* entries(at, limit) -> (list of (key, value) bytes, next): up to
 * ``limit`` entries in key order from entry number ``at``'s byte offset
 * ``next`` of the previous call (0 for the first), and where to go on from
 * (0 when done). The Python side (Snapshot.iter_raw_tokens) loops over it. */
static PyObject *TokenIndex_entries(TokenIndex *self, PyObject *args) {
    unsigned long long at;
    Py_ssize_t limit;
    if (!PyArg_ParseTuple(args, "Kn:entries", &at, &limit)) return NULL;
    if (!self->open) {
        PyErr_SetString(PyExc_ValueError, "the token index is closed (its snapshot was closed)");
        return NULL;
    }
    uint64_t off = at ? at : TI_HEADER + 8 * self->slots;
    PyObject *out = PyList_New(0);
    if (!out) return NULL;
    while (off < self->len && PyList_GET_SIZE(out) < limit) {
        if (!self->open) { /* closed by a finaliser the allocations below ran */
            Py_DECREF(out);
            PyErr_SetString(PyExc_ValueError, "the token index is closed (its snapshot was closed)");
            return NULL;
        }
        const unsigned char *e = self->base + off;
        uint64_t kl = e[0];
        if (off + 5 + kl > self->len) goto damaged;
        uint32_t vl = rd32(e + 1 + kl);
        if (off + 5 + kl + vl > self->len) goto damaged;
        PyObject *k = PyBytes_FromStringAndSize((const char *)e + 1, (Py_ssize_t)kl);
        /* bytes, not views: a chunk's pairs then hold no object the cyclic GC tracks
         * (a view is tracked), so a long walk does not make the collector scan them */
        PyObject *v = k ? PyBytes_FromStringAndSize((const char *)e + 5 + kl, (Py_ssize_t)vl) : NULL;
        PyObject *pair = v ? PyTuple_Pack(2, k, v) : NULL;
        Py_XDECREF(k);
        Py_XDECREF(v);
        if (!pair || PyList_Append(out, pair) < 0) {
            Py_XDECREF(pair);
            Py_DECREF(out);
            return NULL;
        }
        Py_DECREF(pair);
        off += 5 + kl + vl;
    }
    return Py_BuildValue("(NK)", out, (unsigned long long)(off < self->len ? off : 0));
damaged:
    if (PyList_GET_SIZE(out)) /* the good entries first, as the Python walk yields them; the next call raises */
        return Py_BuildValue("(NK)", out, (unsigned long long)off);
    Py_DECREF(out);
    PyErr_SetString(PyExc_ValueError, "the token index record is damaged; republish the snapshot");
    return NULL;
}

static PyObject *TokenIndex_close(TokenIndex *self, PyObject *Py_UNUSED(ignored)) {
    if (self->open) {
        self->open = 0;
        self->base = NULL;
        PyBuffer_Release(&self->view);
    }
    Py_RETURN_NONE;
}

static void TokenIndex_dealloc(TokenIndex *self) {
    if (self->open) PyBuffer_Release(&self->view);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *TokenIndex_new(PyTypeObject *type, PyObject *args, PyObject *kwds) {
    TokenIndex *self = (TokenIndex *)type->tp_alloc(type, 0);
    if (self) {
        self->open = 0;
        self->vcall = TokenIndex_vcall;
    }
    return (PyObject *)self;
}

static PyObject *TokenIndex_get_closed(TokenIndex *self, void *c) { return PyBool_FromLong(!self->open); }
static PyObject *TokenIndex_get_len(TokenIndex *self, void *c) { return PyLong_FromUnsignedLongLong(self->open ? self->n : 0); }

static PyMethodDef TokenIndex_methods[] = {
    {"close", (PyCFunction)TokenIndex_close, METH_NOARGS, "Release the record (before its snapshot is closed)."},
    {"entries", (PyCFunction)TokenIndex_entries, METH_VARARGS,
     "entries(at, limit) -> ([(key, value), ...], next): entries (bytes) in key order from byte offset at (0: the first)."},
    {NULL}
};
static PyGetSetDef TokenIndex_getset[] = {
    {"closed", (getter)TokenIndex_get_closed, NULL, "True once close() ran.", NULL},
    {"count", (getter)TokenIndex_get_len, NULL, "Number of keys in the index.", NULL},
    {NULL}
};

static PyTypeObject TokenIndexType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "engine.snapshot._index.TokenIndex",
    .tp_basicsize = sizeof(TokenIndex),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_doc = "TokenIndex(record): the snapshot's token hash index; index(key) -> bytes | None.",
    .tp_new = TokenIndex_new,
    .tp_init = (initproc)TokenIndex_init,
    .tp_dealloc = (destructor)TokenIndex_dealloc,
    .tp_call = TokenIndex_call,
    .tp_vectorcall_offset = offsetof(TokenIndex, vcall),
    .tp_methods = TokenIndex_methods,
    .tp_getset = TokenIndex_getset,
};


/* ------------------------------------------------------------------ capsule */
static int api_is_open(PyObject *o) { return ((TokenIndex *)o)->open; }
static uint64_t api_hash(PyObject *o, const char *key, Py_ssize_t len) {
    return ti_hash(((TokenIndex *)o)->seed, key, len);
}
static void api_prefetch(PyObject *o, uint64_t h, int entry) {
    TokenIndex *t = (TokenIndex *)o;
    if (!t->open) return;
    const unsigned char *slot = t->base + TI_HEADER + 8 * (h & t->mask);
    if (!entry) {
        __builtin_prefetch(slot);
        return;
    }
    uint64_t s = rd64(slot);
    if (s && (s & ((1u << TI_FP_BITS) - 1)) == h >> (64 - TI_FP_BITS) && (s >> TI_FP_BITS) < t->len)
        __builtin_prefetch(t->base + (s >> TI_FP_BITS));
}
static PyObject *api_get(PyObject *o, uint64_t h, const char *key, Py_ssize_t len) {
    return ti_get_hashed((TokenIndex *)o, h, key, len);
}
static SmslinkIndexAPI CAPI = {
    SMSLINK_INDEX_CAPI_VERSION, sizeof(SmslinkIndexAPI), &TokenIndexType, api_is_open, api_hash, api_prefetch, api_get,
};

static struct PyModuleDef indexmodule = {
    PyModuleDef_HEAD_INIT, "engine.snapshot._index",
    "The snapshot's token hash index, read in C (see engine/snapshot/_index.c).", -1, NULL,
};

PyMODINIT_FUNC PyInit__index(void) {
    if (PyType_Ready(&TokenIndexType) < 0) return NULL;
    PyObject *m = PyModule_Create(&indexmodule);
    if (!m) return NULL;
    PyObject *cap = PyCapsule_New(&CAPI, SMSLINK_INDEX_CAPI_NAME, NULL);
    if (!cap || PyModule_AddObject(m, "CAPI", cap) < 0) {
        Py_XDECREF(cap);
        Py_DECREF(m);
        return NULL;
    }
    if (PyModule_AddObjectRef(m, "TokenIndex", (PyObject *)&TokenIndexType) < 0 ||
        PyModule_AddStringConstant(m, "SOURCE_SHA256", SMSLINK_INDEX_SOURCE) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
