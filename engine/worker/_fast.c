/*
 * engine.worker._fast: the common click, compiled.
 *
 * ClickHandler.handle (engine/worker/_core.py) is the click path and stays the
 * reference: explain runs it, every unusual request runs it. This module
 * answers the common click with the same caches and the same Python parts
 * (the token look-up, the record decoder, the event ids, geo, the bot policy's
 * network/timing key, rule routing), without the interpreter's per-step cost:
 *
 *   the headers' shape is already known (ClickHandler._shapes),
 *   the Host is known (ClickHandler._hosts) and one of the campaign's domains,
 *   the token is in the snapshot and its campaign is within retention,
 *   the verdict for (policy, method, network/timing key) is remembered for
 *   that shape and its answer is a redirect,
 *   routing answers a URL (for a rule-less campaign: a remembered rendering).
 *
 * Anything else returns None, before any effect that matters, and the caller
 * runs ClickHandler.handle, which also fills the caches this path reads. The
 * line it builds is byte for byte the line ClickHandler.handle builds
 * (msgspec's encoding of LogLine, omit_defaults, with the shape's tail
 * spliced in): tests/unit/worker/test_fast_path.py holds the two equal.
 *
 * Nothing here is written to disk or answered: the caller writes the line
 * (one write(2)) and answers the 302.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <time.h>
#include <errno.h>
#include <unistd.h>
#include <string.h>
#include <stdint.h>
#include <math.h>

#include "../snapshot/_index.h"

#ifndef SMSLINK_FAST_SOURCE
#define SMSLINK_FAST_SOURCE "unknown"
#endif

/* LogLine's fields, in order (engine/worker/_core.py). */
enum {
    F_ID, F_TS, F_KIND, F_STATUS, F_ANSWER, F_VERDICT, F_REASONS, F_POLICY, F_TOKEN, F_LINK,
    F_CAMPAIGN, F_RECIPIENT, F_VARIANT, F_ROUTE, F_STORE, F_STORE_SOURCE, F_DEST, F_COUNTRY,
    F_REGION, F_CITY, F_ACCURACY, F_ASN, F_DEVICE, F_LANG, F_SINCE, F_METHOD, F_HOST, F_IP,
    N_FIELDS
};

/* Per-campaign tuple built by ClickHandler (_core._fast_campaign). */
enum {
    C_RETAIN_UNTIL, C_DOMAINS, C_SEND_AT, C_CLASSIFIER, C_RESOLVE, C_PLAIN, C_ID, C_DYN, C_MEMO, N_CAMP
};
/* C_PLAIN: None (rules: call C_RESOLVE) or this tuple. */
/* C_MEMO: None, or for a rule-evaluated campaign (CompiledCampaign._memo_state, ._memo, number of arms,
 * reads attributes). */
enum { P_RETIRED, P_ENDS_AT, P_STARTS_AT, P_EXPIRED, P_NOT_YET_LIVE, P_DEFAULT, P_ARMS, N_PLAIN };

static PyObject *s_items, *s_host, *s_tail, *s_verdicts, *s_prepared, *s_ua, *s_lang_header,
    *s_campaign, *s_recipient, *s_variant, *s_const, *s_memo, *s_status, *s_url, *s_route,
    *s_store, *s_store_source, *s_device, *s_lang, *s_country, *s_region, *s_city,
    *s_accuracy_km, *s_asn, *s_dynamic_key, *s_round, *s_redirect, *s_click, *s_default, *s_expired, *s_not_yet_live, *s_location, *i_302, *i_3;

/* ------------------------------------------------------------------ event ids
 * engine.clicklog.EventIds, compiled: a monotonic ULID per click (48-bit ms,
 * 80-bit counter from a random start, Crockford base32). Same state, same ids:
 * tests/unit/worker/test_fast_path.py compares the two from one seed. */
static const char CROCKFORD[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

typedef struct {
    PyObject_HEAD
    long long last_ms;
    unsigned __int128 rand; /* 80 bits */
    char time_s[10];
} EventIdsObject;

static PyTypeObject EventIdsType;
#define RAND_MASK ((((unsigned __int128)1) << 80) - 1)

static PyObject *event_id(EventIdsObject *self, long long ms) {
    self->rand = (self->rand + 1) & RAND_MASK;
    if (ms > self->last_ms) { /* a clock that steps back keeps the last time: ids stay sorted */
        self->last_ms = ms;
        for (int i = 0; i < 10; i++) self->time_s[i] = CROCKFORD[(ms >> (5 * (9 - i))) & 31];
    }
    char out[26];
    memcpy(out, self->time_s, 10);
    unsigned __int128 r = self->rand;
    for (int i = 15; i >= 0; i--) {
        out[10 + i] = CROCKFORD[(int)(r & 31)];
        r >>= 5;
    }
    return PyUnicode_FromStringAndSize(out, 26);
}

static PyObject *EventIds_new_id(EventIdsObject *self, PyObject *arg) {
    long long ms = PyLong_AsLongLong(arg);
    if (ms == -1 && PyErr_Occurred()) return NULL;
    if (ms < 0 || ms >= (1LL << 48)) {
        PyErr_SetString(PyExc_ValueError, "ms: 0 <= ms < 2**48");
        return NULL;
    }
    return event_id(self, ms);
}

static PyObject *EventIds_get_rand(EventIdsObject *self, void *closure) {
    PyObject *hi = PyLong_FromUnsignedLongLong((unsigned long long)(self->rand >> 64));
    PyObject *lo = PyLong_FromUnsignedLongLong((unsigned long long)self->rand);
    PyObject *sixty_four = PyLong_FromLong(64), *out = NULL;
    if (hi && lo && sixty_four) {
        PyObject *shifted = PyNumber_Lshift(hi, sixty_four);
        if (shifted) {
            out = PyNumber_Or(shifted, lo);
            Py_DECREF(shifted);
        }
    }
    Py_XDECREF(hi); Py_XDECREF(lo); Py_XDECREF(sixty_four);
    return out;
}

static int EventIds_set_rand(EventIdsObject *self, PyObject *value, void *closure) {
    if (!value || !PyLong_Check(value)) {
        PyErr_SetString(PyExc_TypeError, "_rand: an int");
        return -1;
    }
    unsigned char bytes[16];
    PyObject *b = PyObject_CallMethod(value, "to_bytes", "is", 16, "big");
    if (!b) return -1;
    memcpy(bytes, PyBytes_AS_STRING(b), 16);
    Py_DECREF(b);
    unsigned __int128 r = 0;
    for (int i = 0; i < 16; i++) r = (r << 8) | bytes[i];
    self->rand = r & RAND_MASK;
    return 0;
}

static int EventIds_init(EventIdsObject *self, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"seed", NULL};
    PyObject *seed = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O:EventIds", kwlist, &seed)) return -1;
    self->last_ms = -1;
    memset(self->time_s, '0', 10);
    return EventIds_set_rand(self, seed, NULL);
}

static PyMethodDef EventIds_methods[] = {
    {"new", (PyCFunction)EventIds_new_id, METH_O, "new(ms) -> a new id for an event at ms (UTC milliseconds)"},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef EventIds_getset[] = {
    {"_rand", (getter)EventIds_get_rand, (setter)EventIds_set_rand, "the 80-bit counter", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject EventIdsType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "engine.worker._fast.EventIds",
    .tp_basicsize = sizeof(EventIdsObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "engine.clicklog.EventIds, compiled; EventIds(seed): seed is the counter's start.",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)EventIds_init,
    .tp_methods = EventIds_methods,
    .tp_getset = EventIds_getset,
};

/* ------------------------------------------------------------ token index */
/* The snapshot's token hash index (engine/snapshot/_index.c), through its
 * capsule: set at import when that module is there, else NULL (then every
 * look-up calls raw_get). */
static const SmslinkIndexAPI *IDX = NULL;

/* ------------------------------------------------------------------ the path */
typedef struct {
    PyObject_HEAD
    PyObject *shapes;        /* dict: shape key -> _Shape */
    PyObject *shape_names;   /* frozenset of header names in a shape */
    PyObject *hosts;         /* dict: Host value -> hostname */
    PyObject *raw_get;       /* callable(bytes) -> bytes | None: the snapshot's get (a TokenIndex is read through IDX) */
    PyObject *decode;        /* callable(bytes) -> TokenRecord */
    PyObject *campaigns;     /* list of per-campaign tuples */
    PyObject *geo_lookup;    /* callable(ip) -> Geo | None, or None */
    PyObject *geo_nets;      /* GeoReader._nets: "a.b.c" -> Geo | None, or None */
    PyObject *ids;           /* EventIds (this module's: called directly; else its .new) */
    PyObject *net_cache;     /* dict: "a.b.c" -> truncated IP */
    PyObject *ip_fn;         /* callable(ip) -> truncated IP (fills the caches) */
    PyObject *encode;        /* msgspec JSON encode: floats and strings that need escapes */
    PyObject *facts_type;    /* ClickFacts */
    PyObject *redirect_headers; /* tuple of (name, value) after ("location", dest) */
    PyObject *names;         /* tuple of N_FIELDS bytes: b'"name":' */
    PyObject *defaults;      /* tuple of N_FIELDS default objects (a list: "empty list omitted") */
    unsigned long long served, declined, errors, remembered;
    /* Header shapes by the bytes of their (name, value) pairs: a look-up hashes
     * one buffer instead of a tuple of fresh strings. A slot holds a shape
     * found in ``shapes`` under the equal tuple key (same pairs, same shape). */
    struct shape_slot { Py_hash_t h; PyObject *kb; PyObject *shape; } *slots;
    PyObject *name_bytes;    /* tuple of bytes: the names of shape_names, UTF-8 */
} FastPath;
#define SHAPE_SLOTS 4096
/* FastPath's constructor arguments, in order: each an object field of the same name. */
#define FASTPATH_ARGS(X) X(shapes) X(shape_names) X(hosts) X(raw_get) X(decode) X(campaigns) \
    X(geo_lookup) X(ids) X(net_cache) X(ip_fn) X(encode) X(facts_type) X(redirect_headers) X(names) \
    X(defaults) X(geo_nets)

/* ------------------------------------------------------------------ buffer */
typedef struct {
    char *p;
    Py_ssize_t n, cap;
    char stack[1024];
} Buf;

static int buf_grow(Buf *b, Py_ssize_t extra) {
    Py_ssize_t need = b->n + extra;
    if (need <= b->cap) return 0;
    Py_ssize_t cap = b->cap * 2;
    while (cap < need) cap *= 2;
    char *q;
    if (b->p == b->stack) {
        q = PyMem_Malloc(cap);
        if (q) memcpy(q, b->p, b->n);
    } else {
        q = PyMem_Realloc(b->p, cap);
    }
    if (!q) { PyErr_NoMemory(); return -1; }
    b->p = q;
    b->cap = cap;
    return 0;
}

static inline int buf_put(Buf *b, const char *s, Py_ssize_t n) {
    if (b->n + n > b->cap && buf_grow(b, n) < 0) return -1;
    memcpy(b->p + b->n, s, n);
    b->n += n;
    return 0;
}

static void buf_free(Buf *b) {
    if (b->p != b->stack) PyMem_Free(b->p);
}

/* msgspec's encoding of one value, appended (a float, or a string with escapes). */
static int put_encoded(FastPath *self, Buf *b, PyObject *v) {
    PyObject *enc = PyObject_CallOneArg(self->encode, v);
    if (!enc) return -1;
    int r = buf_put(b, PyBytes_AS_STRING(enc), PyBytes_GET_SIZE(enc));
    Py_DECREF(enc);
    return r;
}

/* Bytes msgspec escapes in a JSON string: control characters, '"' and '\\'. */
static unsigned char NEEDS_ESCAPE[256];

static int put_str(FastPath *self, Buf *b, PyObject *s) {
    Py_ssize_t n;
    const char *u = PyUnicode_AsUTF8AndSize(s, &n);
    if (!u) return -1;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (NEEDS_ESCAPE[(unsigned char)u[i]]) return put_encoded(self, b, s);
    }
    if (b->n + n + 2 > b->cap && buf_grow(b, n + 2) < 0) return -1;
    b->p[b->n++] = '"';
    memcpy(b->p + b->n, u, n);
    b->n += n;
    b->p[b->n++] = '"';
    return 0;
}

/* One value as msgspec writes it: str, int, float, None, or a list/tuple of str. */
static int put_value(FastPath *self, Buf *b, PyObject *v) {
    if (PyUnicode_CheckExact(v)) return put_str(self, b, v);
    if (v == Py_None) return buf_put(b, "null", 4);
    if (PyLong_CheckExact(v)) {
        int overflow = 0;
        long long x = PyLong_AsLongLongAndOverflow(v, &overflow);
        if (overflow || (x == -1 && PyErr_Occurred())) {
            PyErr_Clear();
            return put_encoded(self, b, v);
        }
        char tmp[24];
        int k = sizeof tmp;
        unsigned long long ux = x < 0 ? 0ULL - (unsigned long long)x : (unsigned long long)x;
        do {
            tmp[--k] = (char)('0' + ux % 10);
            ux /= 10;
        } while (ux);
        if (x < 0) tmp[--k] = '-';
        return buf_put(b, tmp + k, sizeof tmp - k);
    }
    if (PyList_CheckExact(v) || PyTuple_CheckExact(v)) {
        Py_ssize_t n = PySequence_Fast_GET_SIZE(v);
        PyObject **items = PySequence_Fast_ITEMS(v);
        if (buf_put(b, "[", 1) < 0) return -1;
        for (Py_ssize_t i = 0; i < n; i++) {
            if (i && buf_put(b, ",", 1) < 0) return -1;
            if (put_value(self, b, items[i]) < 0) return -1;
        }
        return buf_put(b, "]", 1);
    }
    return put_encoded(self, b, v);  /* float, and anything unexpected: msgspec decides */
}

/* The head as msgspec encodes LogLine (omit_defaults: a value identical to its
 * default, or an empty list where the default is a list, is left out), its
 * closing brace replaced by the shape's tail. */
static PyObject *build_line(FastPath *self, PyObject **vals, PyObject *tail) {
    Buf b;
    b.p = b.stack;
    b.n = 0;
    b.cap = sizeof b.stack;
    int first = 1;
    if (buf_put(&b, "{", 1) < 0) goto fail;
    for (int i = 0; i < N_FIELDS; i++) {
        PyObject *v = vals[i];
        PyObject *d = PyTuple_GET_ITEM(self->defaults, i);
        if (v == d) continue;
        if (PyList_CheckExact(d) && PyList_CheckExact(v) && PyList_GET_SIZE(v) == 0) continue;
        if (!first && buf_put(&b, ",", 1) < 0) goto fail;
        first = 0;
        PyObject *name = PyTuple_GET_ITEM(self->names, i);
        if (buf_put(&b, PyBytes_AS_STRING(name), PyBytes_GET_SIZE(name)) < 0) goto fail;
        if (put_value(self, &b, v) < 0) goto fail;
    }
    if (first) { /* "{}": the tail's members would follow a comma that is not there */
        PyErr_SetString(PyExc_ValueError, "empty head");
        goto fail;
    }
    if (buf_put(&b, PyBytes_AS_STRING(tail), PyBytes_GET_SIZE(tail)) < 0) goto fail;
    PyObject *out = PyBytes_FromStringAndSize(b.p, b.n);
    buf_free(&b);
    return out;
fail:
    buf_free(&b);
    return NULL;
}

/* ------------------------------------------------------------------ helpers */
static PyObject *s_new;

/* A fast 64-bit hash of a buffer (a cache's, verified by memcmp: quality, not secrecy). */
static Py_hash_t buf_hash(const char *p, Py_ssize_t n) {
    uint64_t h = 0x9E3779B97F4A7C15ULL ^ (uint64_t)n;
    Py_ssize_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h = (h ^ w) * 0xFF51AFD7ED558CCDULL;
        h ^= h >> 32;
    }
    uint64_t w = 0;
    memcpy(&w, p + i, (size_t)(n - i));
    h = (h ^ w) * 0xC4CEB9FE1A85EC53ULL;
    h ^= h >> 29;
    return (Py_hash_t)(h | 1); /* never 0: 0 marks an empty slot */
}

static inline int put_u32(Buf *b, Py_ssize_t v) {
    uint32_t x = (uint32_t)v;
    return buf_put(b, (const char *)&x, 4);
}

static PyObject *draw_id(FastPath *self, long long ms, PyObject *ms_obj) {
    if (Py_IS_TYPE(self->ids, &EventIdsType) && ms >= 0 && ms < (1LL << 48))
        return event_id((EventIdsObject *)self->ids, ms);
    return PyObject_CallMethodOneArg(self->ids, s_new, ms_obj);
}

/* Where an IPv4 dotted quad's last part starts (after its last '.'), when that
 * part is 1-3 ASCII digits <= 255; -1 otherwise (as _NetworkCheck.match and
 * ClickHandler._ip read an address). */
static Py_ssize_t v4_last_dot(const char *s, Py_ssize_t n) {
    Py_ssize_t dot = -1;
    for (Py_ssize_t i = n - 1; i >= 0; i--) {
        if (s[i] == '.') { dot = i; break; }
    }
    Py_ssize_t last = n - dot - 1;
    if (dot < 0 || last < 1 || last > 3) return -1;
    int val = 0;
    for (Py_ssize_t i = dot + 1; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        val = val * 10 + (s[i] - '0');
    }
    return val <= 255 ? dot : -1;
}


/* A dict lookup that tells "missing" (NULL, no error) from an error (NULL, error set). */
static inline PyObject *dget(PyObject *d, PyObject *k) {
    return PyDict_GetItemWithError(d, k); /* borrowed */
}

static inline int is_trailing_junk(Py_UCS4 c) {
    return c < 128 && c && strchr(".,;:!?)]}>'\"/", (int)c) != NULL;
}

/* The client address, read once per click: its UTF-8, where its last part starts
 * (v4_last_dot), and its "a.b.c" prefix, made on first use and shared by the three
 * per-/24 caches (IP truncation, the bot network signal, geo), so it is hashed once. */
typedef struct {
    PyObject *ip;
    const char *s;
    Py_ssize_t n, dot;
    int colon; /* a ':' before the last dot */
    PyObject *pre;
} Addr;

static int addr_init(Addr *a, PyObject *ip) {
    a->ip = ip;
    a->pre = NULL;
    a->s = PyUnicode_AsUTF8AndSize(ip, &a->n);
    if (!a->s) return -1;
    a->dot = v4_last_dot(a->s, a->n);
    a->colon = a->dot > 0 && memchr(a->s, ':', (size_t)a->dot) != NULL;
    return 0;
}

static PyObject *addr_prefix(Addr *a) { /* borrowed: the Addr owns it */
    if (!a->pre) a->pre = PyUnicode_FromStringAndSize(a->s, a->dot);
    return a->pre;
}

/* Truncated client IP: the /24 cache hit for a dotted quad, else ClickHandler._ip. */
static PyObject *truncated_ip(FastPath *self, Addr *a) {
    if (a->dot > 0 && !a->colon) {
        PyObject *pre = addr_prefix(a);
        if (!pre) return NULL;
        PyObject *hit = dget(self->net_cache, pre);
        if (hit) return Py_NewRef(hit);
        if (PyErr_Occurred()) return NULL;
    }
    return PyObject_CallOneArg(self->ip_fn, a->ip);
}

/* Classifier.dynamic_key's simple form (at most one network and one timing
 * signal), from the campaign's C_DYN = (by24 cache | None, match | None,
 * below | None); the network answer from the /24 cache when it has it. */
static PyObject *dynamic_key(PyObject *spec, PyObject *asn, Addr *a, PyObject *since, double since_v) {
    PyObject *by24 = PyTuple_GET_ITEM(spec, 0), *match = PyTuple_GET_ITEM(spec, 1),
             *below = PyTuple_GET_ITEM(spec, 2), *net = NULL, *timing;
    PyObject *ip_or_none = a->n ? a->ip : Py_None;
    if (match == Py_None) {
        net = Py_NewRef(Py_None);
    } else {
        if (asn == Py_None && by24 != Py_None && ip_or_none != Py_None && a->dot >= 0) {
            PyObject *pre = addr_prefix(a);
            if (!pre) return NULL;
            net = dget(by24, pre);
            Py_XINCREF(net);
            if (!net && PyErr_Occurred()) return NULL;
        }
        if (!net) {
            PyObject *margs[2] = {asn, ip_or_none};
            net = PyObject_Vectorcall(match, margs, 2, NULL);
            if (!net) return NULL;
        }
    }
    if (below == Py_None) timing = Py_None;
    else if (since == Py_None) timing = Py_False;
    else timing = (0 <= since_v && since_v < PyFloat_AS_DOUBLE(below)) ? Py_True : Py_False;
    PyObject *out = PyTuple_Pack(2, net, timing);
    Py_DECREF(net);
    return out;
}

/* The template's URL for (variant, route) when it is remembered; NULL without error: not. */
static PyObject *plain_url(PyObject *tmpl, PyObject *variant, PyObject *route) {
    PyObject *c = PyObject_GetAttr(tmpl, s_const);
    if (!c) return NULL;
    if (c != Py_None) return c;
    Py_DECREF(c);
    PyObject *memo = PyObject_GetAttr(tmpl, s_memo);
    if (!memo) return NULL;
    PyObject *url = NULL;
    if (PyDict_CheckExact(memo)) {
        PyObject *key = PyTuple_Pack(2, variant, route);
        if (key) {
            url = dget(memo, key);
            Py_XINCREF(url);
            Py_DECREF(key);
        }
    }
    Py_DECREF(memo);
    return url;
}

/* ------------------------------------------------------------------ click */
#define BAIL() do { result = Py_None; Py_INCREF(result); goto done; } while (0)
#define CHECK(x) do { if (!(x)) { if (PyErr_Occurred()) goto error; BAIL(); } } while (0)

static int get_ll(PyObject *o, PyObject *name, long long *out);

/* GeoReader.lookup's /24 answer when it has one (_v4_net24's key); NULL without error: ask it. */
static PyObject *geo_cached(FastPath *self, Addr *a) {
    if (self->geo_nets == Py_None) return NULL;
    if (a->dot < 0 || a->colon) return NULL;
    if (a->n - a->dot - 1 > 1 && a->s[a->dot + 1] == '0') return NULL; /* a leading zero: not canonical */
    PyObject *pre = addr_prefix(a);
    if (!pre) return NULL;
    PyObject *hit = dget(self->geo_nets, pre);
    Py_XINCREF(hit);
    return hit;
}

/* Python's float floor division now // 60 (Objects/floatobject.c), as an integer. */
static long long minute_of(double now) {
    double mod = fmod(now, 60.0), div = (now - mod) / 60.0, fl;
    if (mod && mod < 0) div -= 1.0;
    if (div) {
        fl = floor(div);
        if (div - fl > 0.5) fl += 1.0;
    } else {
        fl = 0.0;
    }
    return (long long)fl;
}

static PyObject *s_zone, *s_attrs;

/* CompiledCampaign.resolve's remembered decision (_memo_key, engine/routing/_evaluate.py), as
 * its fields (status, url, route, variant, store, store_source, device, lang); NULL without
 * error when there is none to use (resolve then decides). */
static PyObject *remembered(PyObject *memo, PyObject *rec, int has_recipient, PyObject *geo, PyObject *prepared,
                            double now) {
    PyObject *state = PyTuple_GET_ITEM(memo, 0), *table = PyTuple_GET_ITEM(memo, 1);
    long arms = PyLong_AsLong(PyTuple_GET_ITEM(memo, 2));
    long long mm = PyLong_AsLongLong(PyList_GET_ITEM(state, 0));
    if (mm == -1 && PyErr_Occurred()) return NULL;
    if (mm != minute_of(now)) return NULL; /* a new minute: resolve empties the memo */
    if (PyList_GET_ITEM(state, 1) != Py_True) return NULL;
    PyObject *variant = NULL, *store = NULL, *zone = NULL, *attrs = NULL, *gid = NULL, *key = NULL, *out = NULL;
    if (!(variant = PyObject_GetAttr(rec, s_variant))) goto done;
    if (arms) {
        long v = PyLong_AsLong(variant);
        if (v == -1 && PyErr_Occurred()) goto done;
        if (!(0 <= v && v < arms) && !has_recipient) goto done; /* split per click: never remembered */
    }
    if (!(store = PyObject_GetAttr(rec, s_store))) goto done;
    if (!(zone = PyObject_GetAttr(rec, s_zone))) goto done;
    if (PyTuple_GET_ITEM(memo, 3) == Py_True) {
        PyObject *a = PyObject_GetAttr(rec, s_attrs);
        if (!a) goto done;
        attrs = PySequence_Tuple(a);
        Py_DECREF(a);
        if (!attrs) goto done;
    } else {
        attrs = Py_NewRef(Py_None);
    }
    if (!(gid = PyLong_FromVoidPtr(geo))) goto done;
    key = PyTuple_Pack(7, gid, variant, store, zone, attrs, PyTuple_GET_ITEM(prepared, 0),
                       PyTuple_GET_ITEM(prepared, 1));
    if (!key) goto done;
    PyObject *hit = dget(table, key);
    if (hit && PyTuple_CheckExact(hit) && PyTuple_GET_SIZE(hit) == 3 && PyTuple_GET_ITEM(hit, 0) == geo) {
        PyObject *fields = PyTuple_GET_ITEM(hit, 2);
        if (PyTuple_CheckExact(fields) && PyTuple_GET_SIZE(fields) == 8) out = Py_NewRef(fields);
    }
done:
    Py_XDECREF(variant); Py_XDECREF(store); Py_XDECREF(zone); Py_XDECREF(attrs); Py_XDECREF(gid);
    Py_XDECREF(key);
    return out;
}

/* The snapshot key of a request path ("t:" + the token, in kbuf), or 0 when
 * the path cannot be a token (then Python answers it). */
static inline int path_key(PyObject *path, char kbuf[40], Py_ssize_t *pstart, Py_ssize_t *tlen) {
    if (!PyUnicode_CheckExact(path) || !PyUnicode_IS_ASCII(path)) return 0;
    Py_ssize_t plen = PyUnicode_GET_LENGTH(path);
    *pstart = (plen > 0 && PyUnicode_READ_CHAR(path, 0) == '/') ? 1 : 0;
    *tlen = plen - *pstart;
    if (*tlen < 4 || *tlen > 32 || is_trailing_junk(PyUnicode_READ_CHAR(path, plen - 1))) return 0;
    kbuf[0] = 't';
    kbuf[1] = ':';
    memcpy(kbuf + 2, (const char *)PyUnicode_DATA(path) + *pstart, (size_t)*tlen);
    return 1;
}

/* The click: (line, headers, verdict), or None (never NULL). */
static PyObject *click_impl(FastPath *self, PyObject *method, PyObject *path, PyObject *authority,
                            PyObject *headers, PyObject *ip, double now) {
    if (!PyUnicode_CheckExact(method) || !PyUnicode_CheckExact(path) || !PyUnicode_CheckExact(ip)) {
        self->declined++;
        Py_RETURN_NONE;
    }
    /* The token's key first: with the hash index, its slot and then its entry
     * come from memory while the headers are read (the look-up is step 3). */
    char kbuf[40];
    Py_ssize_t pstart, tlen;
    if (!path_key(path, kbuf, &pstart, &tlen)) {
        self->declined++;
        Py_RETURN_NONE;
    }
    Py_ssize_t plen = pstart + tlen;
    int indexed = IDX && Py_IS_TYPE(self->raw_get, IDX->type) && IDX->is_open(self->raw_get);
    uint64_t khash = 0;
    if (indexed) {
        khash = IDX->hash(self->raw_get, kbuf, tlen + 2);
        IDX->prefetch(self->raw_get, khash, 1);
    }

    PyObject *result = NULL;
    PyObject *items = NULL, *seq = NULL, *key = NULL, *shape = NULL, *host_v = NULL,
             *token = NULL, *raw = NULL, *rec = NULL, *rec_campaign = NULL, *recipient = NULL,
             *geo = NULL, *since = NULL, *verdicts = NULL, *dyn = NULL, *vkey = NULL,
             *ms_obj = NULL, *event_id = NULL, *decision = NULL, *variant = NULL, *route = NULL,
             *url = NULL, *store = NULL, *store_source = NULL, *device = NULL, *lang = NULL,
             *prepared = NULL, *country = NULL, *region = NULL, *city = NULL, *accuracy = NULL,
             *asn = NULL, *ipt = NULL, *tail = NULL, *line = NULL, *hdrs = NULL, *rec_variant = NULL,
             *dstatus = NULL, *since_r = NULL, *hostname = NULL;
    struct shape_slot *slot = NULL;
    Addr addr;
    Py_ssize_t i, n;
    if (addr_init(&addr, ip) < 0) {
        PyErr_Clear();
        self->declined++;
        Py_RETURN_NONE;
    }

    /* 1. the shape: the headers we read, in the order sent */
    items = PyObject_CallMethodNoArgs(headers, s_items);
    if (!items) goto error;
    seq = PySequence_Fast(items, "headers.items()");
    if (!seq) goto error;
    n = PySequence_Fast_GET_SIZE(seq);
    {
        PyObject **it = PySequence_Fast_ITEMS(seq);
        PyObject *kept[64];
        Py_ssize_t k = 0;
        Buf kb;
        kb.p = kb.stack;
        kb.n = 0;
        kb.cap = sizeof kb.stack;
        Py_ssize_t nn = PyTuple_GET_SIZE(self->name_bytes);
        for (i = 0; i < n; i++) {
            PyObject *kv = it[i];
            if (!PyTuple_CheckExact(kv) || PyTuple_GET_SIZE(kv) != 2 || !PyUnicode_CheckExact(PyTuple_GET_ITEM(kv, 0)) ||
                !PyUnicode_CheckExact(PyTuple_GET_ITEM(kv, 1))) {
                buf_free(&kb);
                BAIL();
            }
            Py_ssize_t ln;
            const char *name = PyUnicode_AsUTF8AndSize(PyTuple_GET_ITEM(kv, 0), &ln);
            if (!name) { buf_free(&kb); goto error; }
            int has = 0;
            for (Py_ssize_t j = 0; j < nn; j++) {
                PyObject *want = PyTuple_GET_ITEM(self->name_bytes, j);
                if (PyBytes_GET_SIZE(want) == ln && memcmp(PyBytes_AS_STRING(want), name, (size_t)ln) == 0) {
                    has = 1;
                    break;
                }
            }
            if (has) {
                Py_ssize_t lv;
                const char *value = PyUnicode_AsUTF8AndSize(PyTuple_GET_ITEM(kv, 1), &lv);
                if (!value) { buf_free(&kb); goto error; }
                if (k == 64 || put_u32(&kb, ln) < 0 || buf_put(&kb, name, ln) < 0 || put_u32(&kb, lv) < 0 ||
                    buf_put(&kb, value, lv) < 0) {
                    buf_free(&kb);
                    if (PyErr_Occurred()) goto error;
                    BAIL();
                }
                kept[k++] = kv;
            }
        }
        Py_hash_t h = buf_hash(kb.p, kb.n);
        struct shape_slot *sl = &self->slots[(size_t)h & (SHAPE_SLOTS - 1)];
        if (sl->h == h && PyBytes_GET_SIZE(sl->kb) == kb.n && memcmp(PyBytes_AS_STRING(sl->kb), kb.p, (size_t)kb.n) == 0) {
            shape = Py_NewRef(sl->shape);
            slot = sl;
        } else {
            key = PyTuple_New(k);
            if (!key) { buf_free(&kb); goto error; }
            for (i = 0; i < k; i++) {
                Py_INCREF(kept[i]);
                PyTuple_SET_ITEM(key, i, kept[i]);
            }
            PyObject *found = dget(self->shapes, key);
            if (!found) {
                buf_free(&kb);
                if (PyErr_Occurred()) goto error;
                BAIL(); /* a shape Python has not built (or will not keep): handle() */
            }
            PyObject *kbytes = PyBytes_FromStringAndSize(kb.p, kb.n);
            if (!kbytes) { buf_free(&kb); goto error; }
            sl->h = h;
            Py_XSETREF(sl->kb, kbytes);
            Py_INCREF(found);
            Py_XSETREF(sl->shape, found);
            shape = Py_NewRef(found);
            slot = sl;
        }
        buf_free(&kb);
    }

    /* 2. the Host, one of the campaign's domains (checked below) */
    if (authority == Py_None) {
        host_v = PyObject_GetAttr(shape, s_host);
        if (!host_v) goto error;
    } else {
        host_v = Py_NewRef(authority);
    }
    hostname = PyUnicode_CheckExact(host_v) ? dget(self->hosts, host_v) : NULL;
    CHECK(hostname);
    Py_INCREF(hostname);

    /* 3. the token, looked up */
    {
        if (indexed) {
            raw = IDX->get(self->raw_get, khash, kbuf, tlen + 2);
        } else {
            PyObject *kb = PyBytes_FromStringAndSize(kbuf, tlen + 2);
            if (!kb) goto error;
            raw = PyObject_CallOneArg(self->raw_get, kb);
            Py_DECREF(kb);
        }
        if (!raw) goto error;
        if (raw == Py_None) BAIL();
        token = PyUnicode_Substring(path, pstart, plen);
        if (!token) goto error;
    }
    rec = PyObject_CallOneArg(self->decode, raw);
    if (!rec) goto error;
    rec_campaign = PyObject_GetAttr(rec, s_campaign);
    if (!rec_campaign) goto error;
    Py_ssize_t ci = PyLong_AsSsize_t(rec_campaign);
    if (ci == -1 && PyErr_Occurred()) goto error;
    if (ci < 0 || ci >= PyList_GET_SIZE(self->campaigns)) BAIL();
    PyObject *camp = PyList_GET_ITEM(self->campaigns, ci); /* borrowed; the list lives as long as self */

    /* 4. retention, Host */
    PyObject *retain = PyTuple_GET_ITEM(camp, C_RETAIN_UNTIL);
    if (retain != Py_None && now >= PyFloat_AsDouble(retain)) BAIL();
    int ok = PySet_Contains(PyTuple_GET_ITEM(camp, C_DOMAINS), hostname);
    if (ok < 0) goto error;
    if (!ok) BAIL();

    /* 5. geo, time since send */
    if (self->geo_lookup != Py_None && PyUnicode_GET_LENGTH(ip) > 0) {
        geo = geo_cached(self, &addr);
        if (!geo && !PyErr_Occurred()) geo = PyObject_CallOneArg(self->geo_lookup, ip);
        if (!geo) goto error;
    } else {
        geo = Py_NewRef(Py_None);
    }
    PyObject *send_at = PyTuple_GET_ITEM(camp, C_SEND_AT);
    double since_v = 0.0;
    if (send_at != Py_None) {
        since_v = now - PyFloat_AsDouble(send_at);
        since = PyFloat_FromDouble(since_v);
        if (!since) goto error;
    } else {
        since = Py_NewRef(Py_None);
    }
    if (geo != Py_None) {
        if (!(asn = PyObject_GetAttr(geo, s_asn))) goto error;
    } else {
        asn = Py_NewRef(Py_None);
    }

    /* 6. the verdict, remembered for this shape */
    PyObject *cls = PyTuple_GET_ITEM(camp, C_CLASSIFIER);
    PyObject *verdict, *reasons, *policy;
    if (cls == Py_None) {
        verdict = NULL; /* the "unjudged" default */
        reasons = NULL;
        policy = Py_None;
    } else {
        PyObject *spec = PyTuple_GET_ITEM(camp, C_DYN);
        if (spec != Py_None) {
            dyn = dynamic_key(spec, asn, &addr, since, since_v);
        } else {
            PyObject *dargs[4] = {cls, asn, PyUnicode_GET_LENGTH(ip) ? ip : Py_None, since};
            dyn = PyObject_VectorcallMethod(s_dynamic_key, dargs, 4 | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL);
        }
        if (!dyn) goto error;
        vkey = PyTuple_Pack(3, cls, method, dyn);
        if (!vkey) goto error;
        verdicts = PyObject_GetAttr(shape, s_verdicts);
        if (!verdicts) goto error;
        if (!PyDict_CheckExact(verdicts)) BAIL();
        PyObject *hit = dget(verdicts, vkey);
        if (!hit && !PyErr_Occurred() && slot) {
            /* handle() judges and remembers the verdict in the shape *it* holds, which after
             * its cache was emptied may be another object than this slot's: look it up again */
            slot->h = 0;
            Py_CLEAR(slot->kb);
            Py_CLEAR(slot->shape);
        }
        CHECK(hit);
        if (!PyTuple_CheckExact(hit) || PyTuple_GET_SIZE(hit) != 4) BAIL();
        PyObject *answer = PyTuple_GET_ITEM(hit, 3);
        if (answer != s_redirect) {
            int eq = PyUnicode_CheckExact(answer) ? PyUnicode_Compare(answer, s_redirect) : -1;
            if (eq == -1 && PyErr_Occurred()) goto error;
            if (eq != 0) BAIL(); /* a preview page or a prefetch answer: the Python path */
        }
        verdict = PyTuple_GET_ITEM(hit, 0);
        reasons = PyTuple_GET_ITEM(hit, 1);
        policy = PyTuple_GET_ITEM(hit, 2);
        Py_INCREF(hit); /* keep verdict/reasons/policy alive past a concurrent clear */
        Py_SETREF(vkey, hit);
    }

    /* 7. the route, the event id (drawn after every reason to decline a
     * rule-less campaign, so a declined click draws one id, in Python) */
    long long ms = (long long)(now * 1000.0);
    ms_obj = PyLong_FromLongLong(ms);
    if (!ms_obj) goto error;
    recipient = PyObject_GetAttr(rec, s_recipient);
    if (!recipient) goto error;
    int has_recipient = PyObject_IsTrue(recipient);
    if (has_recipient < 0) goto error;
    prepared = PyObject_GetAttr(shape, s_prepared);
    if (!prepared) goto error;
    if (!PyTuple_CheckExact(prepared) || PyTuple_GET_SIZE(prepared) != 2) BAIL();

    PyObject *plain = PyTuple_GET_ITEM(camp, C_PLAIN);
    if (plain != Py_None) {
        /* CompiledCampaign._resolve_plain, for what it remembers */
        PyObject *tmpl;
        int retired = PyObject_IsTrue(PyTuple_GET_ITEM(plain, P_RETIRED));
        if (retired < 0) goto error;
        PyObject *ends = PyTuple_GET_ITEM(plain, P_ENDS_AT), *starts = PyTuple_GET_ITEM(plain, P_STARTS_AT);
        if (retired || (ends != Py_None && now >= PyFloat_AsDouble(ends))) {
            route = Py_NewRef(s_expired);
            tmpl = PyTuple_GET_ITEM(plain, P_EXPIRED);
        } else if (starts != Py_None && now < PyFloat_AsDouble(starts)) {
            route = Py_NewRef(s_not_yet_live);
            tmpl = PyTuple_GET_ITEM(plain, P_NOT_YET_LIVE);
            if (tmpl == Py_None) tmpl = PyTuple_GET_ITEM(plain, P_DEFAULT);
        } else {
            route = Py_NewRef(s_default);
            tmpl = PyTuple_GET_ITEM(plain, P_DEFAULT);
        }
        if (PyErr_Occurred()) goto error;
        if (tmpl == Py_None) BAIL(); /* 410: the gone page */
        PyObject *arms = PyTuple_GET_ITEM(plain, P_ARMS);
        if (PyTuple_GET_SIZE(arms) == 0) {
            variant = Py_NewRef(Py_None);
        } else {
            rec_variant = PyObject_GetAttr(rec, s_variant);
            if (!rec_variant) goto error;
            Py_ssize_t vi = PyLong_AsSsize_t(rec_variant);
            if (vi == -1 && PyErr_Occurred()) goto error;
            if (vi >= 0 && vi < PyTuple_GET_SIZE(arms)) {
                variant = Py_NewRef(PyTuple_GET_ITEM(arms, vi));
            } else if (!has_recipient) {
                BAIL(); /* a campaign-level link: split per click, in Python */
            } else {
                variant = Py_NewRef(Py_None);
            }
        }
        url = plain_url(tmpl, variant, route);
        CHECK(url);
        store = Py_NewRef(Py_None);
        store_source = Py_NewRef(Py_None);
        device = Py_NewRef(PyTuple_GET_ITEM(prepared, 0));
        lang = Py_NewRef(PyTuple_GET_ITEM(prepared, 1));
        event_id = draw_id(self, ms, ms_obj);
        if (!event_id) goto error;
    } else {
        event_id = draw_id(self, ms, ms_obj);
        if (!event_id) goto error;
        PyObject *ua = PyObject_GetAttr(shape, s_ua);
        if (!ua) goto error;
        PyObject *lh = PyObject_GetAttr(shape, s_lang_header);
        if (!lh) { Py_DECREF(ua); goto error; }
        PyObject *memo = PyTuple_GET_ITEM(camp, C_MEMO), *fields = NULL;
        if (memo != Py_None) {
            fields = remembered(memo, rec, has_recipient, geo, prepared, now);
            if (!fields && PyErr_Occurred()) { Py_DECREF(ua); Py_DECREF(lh); goto error; }
        }
        if (fields) { /* (status, url, route, variant, store, store_source, device, lang) */
            self->remembered++;
            Py_DECREF(ua);
            Py_DECREF(lh);
            dstatus = Py_NewRef(PyTuple_GET_ITEM(fields, 0));
            url = Py_NewRef(PyTuple_GET_ITEM(fields, 1));
            route = Py_NewRef(PyTuple_GET_ITEM(fields, 2));
            variant = Py_NewRef(PyTuple_GET_ITEM(fields, 3));
            store = Py_NewRef(PyTuple_GET_ITEM(fields, 4));
            store_source = Py_NewRef(PyTuple_GET_ITEM(fields, 5));
            device = Py_NewRef(PyTuple_GET_ITEM(fields, 6));
            lang = Py_NewRef(PyTuple_GET_ITEM(fields, 7));
            Py_DECREF(fields);
            if (url == Py_None || PyLong_AsLong(dstatus) == 410) BAIL();
            if (PyErr_Occurred()) goto error;
            if (!PyUnicode_CheckExact(url)) BAIL();
            goto routed;
        }
        { /* not remembered: routing decides (and may remember it) */
            PyObject *fargs[6] = {PyFloat_FromDouble(now), geo, ua, lh, event_id, prepared};
            PyObject *facts = fargs[0] ? PyObject_Vectorcall(self->facts_type, fargs, 6, NULL) : NULL;
            Py_XDECREF(fargs[0]);
            if (!facts) { Py_DECREF(ua); Py_DECREF(lh); goto error; }
            PyObject *rargs[2] = {rec, facts};
            decision = PyObject_Vectorcall(PyTuple_GET_ITEM(camp, C_RESOLVE), rargs, 2, NULL);
            Py_DECREF(facts);
        }
        Py_DECREF(ua);
        Py_DECREF(lh);
        if (!decision) goto error; /* routing raised: the Python path degrades and counts it */
        if (!(dstatus = PyObject_GetAttr(decision, s_status))) goto error;
        if (!(url = PyObject_GetAttr(decision, s_url))) goto error;
        if (url == Py_None || PyLong_AsLong(dstatus) == 410) BAIL();
        if (PyErr_Occurred()) goto error;
        if (!PyUnicode_CheckExact(url)) BAIL();
        if (!(route = PyObject_GetAttr(decision, s_route))) goto error;
        if (!(variant = PyObject_GetAttr(decision, s_variant))) goto error;
        if (!(store = PyObject_GetAttr(decision, s_store))) goto error;
        if (!(store_source = PyObject_GetAttr(decision, s_store_source))) goto error;
        if (!(device = PyObject_GetAttr(decision, s_device))) goto error;
        if (!(lang = PyObject_GetAttr(decision, s_lang))) goto error;
    }
routed:

    /* 8. the line */
    if (geo != Py_None) {
        if (!(country = PyObject_GetAttr(geo, s_country))) goto error;
        if (!(region = PyObject_GetAttr(geo, s_region))) goto error;
        if (!(city = PyObject_GetAttr(geo, s_city))) goto error;
        if (!(accuracy = PyObject_GetAttr(geo, s_accuracy_km))) goto error;
    } else {
        country = Py_NewRef(Py_None);
        region = Py_NewRef(Py_None);
        city = Py_NewRef(Py_None);
        accuracy = Py_NewRef(Py_None);
    }
    if (since != Py_None) {
        since_r = PyObject_CallMethodOneArg(since, s_round, i_3);
        if (!since_r) goto error;
    } else {
        since_r = Py_NewRef(Py_None);
    }
    ipt = truncated_ip(self, &addr);
    if (!ipt) goto error;
    tail = PyObject_GetAttr(shape, s_tail);
    if (!tail) goto error;
    if (!PyBytes_CheckExact(tail)) BAIL();
    {
        PyObject *defaults_unjudged = PyTuple_GET_ITEM(self->defaults, F_VERDICT);
        PyObject *defaults_reasons = PyTuple_GET_ITEM(self->defaults, F_REASONS);
        PyObject *vals[N_FIELDS] = {
            [F_ID] = event_id, [F_TS] = ms_obj, [F_KIND] = s_click, [F_STATUS] = i_302,
            [F_ANSWER] = s_redirect, [F_VERDICT] = verdict ? verdict : defaults_unjudged,
            [F_REASONS] = reasons ? reasons : defaults_reasons, [F_POLICY] = policy,
            [F_TOKEN] = token, [F_LINK] = has_recipient ? s_recipient : s_campaign, /* the link kinds */
            [F_CAMPAIGN] = PyTuple_GET_ITEM(camp, C_ID),
            [F_RECIPIENT] = has_recipient ? recipient : Py_None, [F_VARIANT] = variant,
            [F_ROUTE] = route, [F_STORE] = store, [F_STORE_SOURCE] = store_source, [F_DEST] = url,
            [F_COUNTRY] = country, [F_REGION] = region, [F_CITY] = city, [F_ACCURACY] = accuracy,
            [F_ASN] = asn, [F_DEVICE] = device, [F_LANG] = lang, [F_SINCE] = since_r,
            [F_METHOD] = method, [F_HOST] = hostname, [F_IP] = ipt,
        };
        line = build_line(self, vals, tail);
        if (!line) goto error;
    }
    /* 9. the answer's headers: location first, then REDIRECT_HEADERS */
    n = PyTuple_GET_SIZE(self->redirect_headers);
    hdrs = PyList_New(n + 1);
    if (!hdrs) goto error;
    {
        PyObject *loc = PyTuple_Pack(2, s_location, url);
        if (!loc) goto error;
        PyList_SET_ITEM(hdrs, 0, loc);
        for (i = 0; i < n; i++) {
            PyObject *h = PyTuple_GET_ITEM(self->redirect_headers, i);
            Py_INCREF(h);
            PyList_SET_ITEM(hdrs, i + 1, h);
        }
    }
    result = PyTuple_Pack(3, line, hdrs, verdict ? verdict : PyTuple_GET_ITEM(self->defaults, F_VERDICT));
    if (result) {
        self->served++;
        goto done;
    }
error:
    /* Whatever went wrong (a part raised, memory), ClickHandler.handle decides:
     * it degrades a failing part instead of failing the request, and counts it. */
    PyErr_Clear();
    self->errors++;
    result = Py_NewRef(Py_None);
done:
    if (result == Py_None) self->declined++;
    Py_XDECREF(addr.pre);
    Py_XDECREF(hostname);
    Py_XDECREF(items); Py_XDECREF(seq); Py_XDECREF(key); Py_XDECREF(shape); Py_XDECREF(host_v);
    Py_XDECREF(token); Py_XDECREF(raw); Py_XDECREF(rec); Py_XDECREF(rec_campaign);
    Py_XDECREF(recipient); Py_XDECREF(geo); Py_XDECREF(since); Py_XDECREF(verdicts);
    Py_XDECREF(dyn); Py_XDECREF(vkey); Py_XDECREF(ms_obj); Py_XDECREF(event_id);
    Py_XDECREF(decision); Py_XDECREF(variant); Py_XDECREF(route); Py_XDECREF(url);
    Py_XDECREF(store); Py_XDECREF(store_source); Py_XDECREF(device); Py_XDECREF(lang);
    Py_XDECREF(prepared); Py_XDECREF(country); Py_XDECREF(region); Py_XDECREF(city);
    Py_XDECREF(accuracy); Py_XDECREF(asn); Py_XDECREF(ipt); Py_XDECREF(tail); Py_XDECREF(line);
    Py_XDECREF(hdrs); Py_XDECREF(rec_variant); Py_XDECREF(dstatus); Py_XDECREF(since_r);
    return result;
}

static PyObject *FastPath_click(FastPath *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 6) {
        PyErr_SetString(PyExc_TypeError, "click(method, path, authority, headers, ip, now)");
        return NULL;
    }
    double now = PyFloat_AsDouble(args[5]);
    if (now == -1.0 && PyErr_Occurred()) return NULL;
    return click_impl(self, args[0], args[1], args[2], args[3], args[4], now);
}

/* ------------------------------------------------------------------ serve */
static PyObject *s_proto, *s_http, *s_method, *s_headers, *s_path, *s_authority, *s_client, *s_get,
    *s_response_empty;

static double clock_s(clockid_t id) {
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static inline int py_space(unsigned char c) { /* str.isspace() for ASCII */
    return c == ' ' || (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x1f);
}

/* fwd.rsplit(",", 1)[-1].strip()[:64] for an ASCII header; NULL without error: not ASCII. */
static PyObject *forwarded_client(PyObject *fwd) {
    if (!PyUnicode_IS_ASCII(fwd)) return NULL;
    const char *s = (const char *)PyUnicode_DATA(fwd);
    Py_ssize_t n = PyUnicode_GET_LENGTH(fwd), a = 0;
    for (Py_ssize_t i = n - 1; i >= 0; i--) {
        if (s[i] == ',') { a = i + 1; break; }
    }
    while (a < n && py_space((unsigned char)s[a])) a++;
    while (n > a && py_space((unsigned char)s[n - 1])) n--;
    if (n - a > 64) n = a + 64;
    return PyUnicode_FromStringAndSize(s + a, n - a);
}

static PyObject *s__fd, *s__size, *s__max_bytes, *s__deadline, *s_lines_written, *s_write,
    *s__short_write, *s__write_error, *s_latency_sum, *i_1;

static int get_ll(PyObject *o, PyObject *name, long long *out) {
    PyObject *v = PyObject_GetAttr(o, name);
    if (!v) return -1;
    *out = PyLong_AsLongLong(v);
    Py_DECREF(v);
    return (*out == -1 && PyErr_Occurred()) ? -1 : 0;
}

static int add_attr(PyObject *o, PyObject *name, PyObject *delta) {
    PyObject *v = PyObject_GetAttr(o, name);
    if (!v) return -1;
    PyObject *w = PyNumber_Add(v, delta);
    Py_DECREF(v);
    if (!w) return -1;
    int r = PyObject_SetAttr(o, name, w);
    Py_DECREF(w);
    return r;
}

/* ClickLogWriter.write: one write(2) to the active file when no rotation is
 * due (the writer's own books kept: _size, lines_written, and its failure
 * methods); otherwise the writer's write, which rotates. 0, or -1 on error. */
static int write_line(PyObject *writer, PyObject *line, double now, PyObject *now_obj) {
    long long fd, size, max_bytes;
    if (get_ll(writer, s__fd, &fd) < 0 || get_ll(writer, s__size, &size) < 0 ||
        get_ll(writer, s__max_bytes, &max_bytes) < 0)
        return -1;
    PyObject *dl = PyObject_GetAttr(writer, s__deadline);
    if (!dl) return -1;
    double deadline = PyFloat_AsDouble(dl);
    Py_DECREF(dl);
    if (deadline == -1.0 && PyErr_Occurred()) return -1;
    Py_ssize_t len = PyBytes_GET_SIZE(line);
    PyObject *r;
    if (fd < 0 || size + len > max_bytes || now >= deadline) {
        r = PyObject_CallMethodObjArgs(writer, s_write, line, now_obj, NULL);
    } else {
        ssize_t n;
        do {
            n = write((int)fd, PyBytes_AS_STRING(line), (size_t)len);
        } while (n < 0 && errno == EINTR);
        if (n == len) {
            PyObject *pn = PyLong_FromSsize_t(n);
            if (!pn) return -1;
            int ok = add_attr(writer, s__size, pn) == 0 && add_attr(writer, s_lines_written, i_1) == 0;
            Py_DECREF(pn);
            return ok ? 0 : -1;
        }
        if (n < 0) {
            PyObject *e = PyLong_FromLong(errno);
            r = e ? PyObject_CallMethodOneArg(writer, s__write_error, e) : NULL;
            Py_XDECREF(e);
        } else {
            PyObject *got = PyLong_FromSsize_t((Py_ssize_t)n), *want = PyLong_FromSsize_t(len);
            r = got && want ? PyObject_CallMethodObjArgs(writer, s__short_write, got, want, NULL) : NULL;
            Py_XDECREF(got);
            Py_XDECREF(want);
        }
    }
    if (!r) return -1;
    Py_DECREF(r);
    return 0;
}

/* WorkerMetrics.observe(302, verdict, "redirect", seconds). */
static int observe(PyObject *metrics, PyObject *requests, PyObject *counts, PyObject *buckets,
                   PyObject *verdict, double seconds) {
    PyObject *key = PyTuple_Pack(3, i_302, verdict, s_redirect);
    if (!key) return -1;
    PyObject *n = dget(requests, key);
    PyObject *m = n ? PyNumber_Add(n, i_1) : (PyErr_Occurred() ? NULL : Py_NewRef(i_1));
    int r = m ? PyDict_SetItem(requests, key, m) : -1;
    Py_XDECREF(m);
    Py_DECREF(key);
    if (r < 0) return -1;
    Py_ssize_t nb = PyTuple_GET_SIZE(buckets), i = 0;
    while (i < nb && PyFloat_AS_DOUBLE(PyTuple_GET_ITEM(buckets, i)) < seconds) i++; /* bisect_left */
    if (i >= PyList_GET_SIZE(counts)) return 0;
    PyObject *c = PyNumber_Add(PyList_GET_ITEM(counts, i), i_1);
    if (!c) return -1;
    PyList_SetItem(counts, i, c); /* steals c */
    PyObject *secs = PyFloat_FromDouble(seconds);
    if (!secs) return -1;
    r = add_attr(metrics, s_latency_sum, secs);
    Py_DECREF(secs);
    return r;
}

/* RedirectApp.__rsgi__ for the common click: True when answered (line written,
 * 302 sent, metrics counted), False when RedirectApp must handle the request
 * (nothing was done). ``state`` is RedirectApp's (client address header or
 * None, peer -> address cache, the ClickLogWriter, the WorkerMetrics, its
 * requests dict and latency_counts list, LATENCY_BUCKETS). */
static PyObject *FastPath_serve(FastPath *self, PyObject *const *args, Py_ssize_t nargs) {
    PyObject *st = nargs == 3 ? args[2] : NULL;
    if (!st || !PyTuple_CheckExact(st) || PyTuple_GET_SIZE(st) != 7 || !PyDict_CheckExact(PyTuple_GET_ITEM(st, 1)) ||
        !PyDict_CheckExact(PyTuple_GET_ITEM(st, 4)) || !PyList_CheckExact(PyTuple_GET_ITEM(st, 5)) ||
        !PyTuple_CheckExact(PyTuple_GET_ITEM(st, 6))) {
        PyErr_SetString(PyExc_TypeError, "serve(scope, proto, (ip_header, peers: dict, writer, metrics, "
                                         "metrics.requests: dict, metrics.latency_counts: list, buckets: tuple))");
        return NULL;
    }
    for (Py_ssize_t b = 0; b < PyTuple_GET_SIZE(PyTuple_GET_ITEM(st, 6)); b++) {
        if (!PyFloat_CheckExact(PyTuple_GET_ITEM(PyTuple_GET_ITEM(st, 6), b))) {
            PyErr_SetString(PyExc_TypeError, "buckets: floats");
            return NULL;
        }
    }
    PyObject *scope = args[0], *proto = args[1], *state = args[2];
    PyObject *ip_header = PyTuple_GET_ITEM(state, 0), *peers = PyTuple_GET_ITEM(state, 1);
    double t0 = clock_s(CLOCK_MONOTONIC);
    PyObject *pr = NULL, *method = NULL, *headers = NULL, *ip = NULL, *path = NULL, *authority = NULL,
             *hit = NULL, *tmp = NULL, *now_obj = NULL;
    PyObject *answered = Py_False;
    int failed = 0;

    if (!(pr = PyObject_GetAttr(scope, s_proto))) goto fail;
    if (pr != s_http && (!PyUnicode_CheckExact(pr) || PyUnicode_Compare(pr, s_http) != 0)) goto out;
    if (!(path = PyObject_GetAttr(scope, s_path))) goto fail;
    if (IDX && Py_IS_TYPE(self->raw_get, IDX->type)) { /* the token's slot, fetched while Granian answers below */
        char kbuf[40];
        Py_ssize_t ps, tl;
        if (path_key(path, kbuf, &ps, &tl)) IDX->prefetch(self->raw_get, IDX->hash(self->raw_get, kbuf, tl + 2), 0);
    }
    if (!(method = PyObject_GetAttr(scope, s_method))) goto fail;
    if (!(headers = PyObject_GetAttr(scope, s_headers))) goto fail;
    double now = clock_s(CLOCK_REALTIME);
    if (ip_header != Py_None) {
        PyObject *fwd = PyObject_CallMethodOneArg(headers, s_get, ip_header);
        if (!fwd) goto fail;
        int truthy = PyObject_IsTrue(fwd);
        if (truthy < 0) { Py_DECREF(fwd); goto fail; }
        if (truthy) {
            ip = PyUnicode_CheckExact(fwd) ? forwarded_client(fwd) : NULL;
            Py_DECREF(fwd);
            if (!ip) { PyErr_Clear(); goto out; }
        } else {
            Py_DECREF(fwd);
        }
    }
    if (!ip) {
        if (!(tmp = PyObject_GetAttr(scope, s_client))) goto fail;
        ip = dget(peers, tmp);
        if (!ip) { if (PyErr_Occurred()) goto fail; goto out; } /* RedirectApp fills the cache */
        Py_INCREF(ip);
    }
    if (!(authority = PyObject_GetAttr(scope, s_authority))) goto fail;
    hit = click_impl(self, method, path, authority, headers, ip, now);
    if (hit == Py_None) goto out;
    /* invariant 4: the line is in the file before the answer leaves */
    if (!(now_obj = PyFloat_FromDouble(now))) goto fail;
    if (write_line(PyTuple_GET_ITEM(state, 2), PyTuple_GET_ITEM(hit, 0), now, now_obj) < 0) goto fail;
    answered = Py_True;
    PyObject *rargs[3] = {proto, i_302, PyTuple_GET_ITEM(hit, 1)};
    Py_XSETREF(tmp, PyObject_VectorcallMethod(s_response_empty, rargs, 3 | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL));
    if (!tmp) goto fail;
    if (observe(PyTuple_GET_ITEM(state, 3), PyTuple_GET_ITEM(state, 4), PyTuple_GET_ITEM(state, 5),
                PyTuple_GET_ITEM(state, 6), PyTuple_GET_ITEM(hit, 2), clock_s(CLOCK_MONOTONIC) - t0) < 0)
        goto fail;
    goto out;
fail:
    failed = 1;
out:
    Py_XDECREF(pr); Py_XDECREF(method); Py_XDECREF(headers); Py_XDECREF(ip); Py_XDECREF(path);
    Py_XDECREF(authority); Py_XDECREF(hit); Py_XDECREF(tmp); Py_XDECREF(now_obj);
    if (failed) {
        if (answered == Py_False) { /* nothing done yet: RedirectApp handles it */
            PyErr_Clear();
            return Py_NewRef(Py_False);
        }
        return NULL; /* the line is written; answering failed: RedirectApp counts it */
    }
    return Py_NewRef(answered);
}

/* ------------------------------------------------------------------ type */
static int FastPath_init(FastPath *self, PyObject *args, PyObject *kwds) {
#define KWNAME(f) #f,
    static char *kwlist[] = {FASTPATH_ARGS(KWNAME) NULL};
#undef KWNAME
    PyObject *o[16];
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O!O!O!OOO!OOO!OOOO!O!O!O:FastPath", kwlist,
                                     &PyDict_Type, &o[0], &PyFrozenSet_Type, &o[1], &PyDict_Type, &o[2],
                                     &o[3], &o[4], &PyList_Type, &o[5], &o[6], &o[7], &PyDict_Type, &o[8],
                                     &o[9], &o[10], &o[11], &PyTuple_Type, &o[12], &PyTuple_Type, &o[13],
                                     &PyTuple_Type, &o[14], &o[15]))
        return -1;
    if (o[15] != Py_None && !PyDict_CheckExact(o[15])) {
        PyErr_SetString(PyExc_TypeError, "geo_nets: a dict or None");
        return -1;
    }
    Py_ssize_t nc = PyList_GET_SIZE(o[5]);
    for (Py_ssize_t i = 0; i < nc; i++) {
        PyObject *c = PyList_GET_ITEM(o[5], i);
        if (!PyTuple_CheckExact(c) || PyTuple_GET_SIZE(c) != N_CAMP ||
            !PyFrozenSet_CheckExact(PyTuple_GET_ITEM(c, C_DOMAINS)) ||
            !PyUnicode_CheckExact(PyTuple_GET_ITEM(c, C_ID))) {
            PyErr_SetString(PyExc_TypeError, "campaigns: tuples of (retain_until, domains, send_at, "
                                             "classifier, resolve, plain, id, dynamic, memo)");
            return -1;
        }
        PyObject *p = PyTuple_GET_ITEM(c, C_PLAIN);
        if (p != Py_None && (!PyTuple_CheckExact(p) || PyTuple_GET_SIZE(p) != N_PLAIN ||
                             !PyTuple_CheckExact(PyTuple_GET_ITEM(p, P_ARMS)))) {
            PyErr_SetString(PyExc_TypeError, "plain: (retired, ends_at, starts_at, expired, "
                                             "not_yet_live, default, arms tuple)");
            return -1;
        }
        PyObject *memo = PyTuple_GET_ITEM(c, C_MEMO);
        if (memo != Py_None && (!PyTuple_CheckExact(memo) || PyTuple_GET_SIZE(memo) != 4 ||
                                !PyList_CheckExact(PyTuple_GET_ITEM(memo, 0)) ||
                                PyList_GET_SIZE(PyTuple_GET_ITEM(memo, 0)) != 2 ||
                                !PyDict_CheckExact(PyTuple_GET_ITEM(memo, 1)) ||
                                !PyLong_CheckExact(PyTuple_GET_ITEM(memo, 2)))) {
            PyErr_SetString(PyExc_TypeError, "memo: None or ([minute, ok], memo dict, arms: int, reads_attrs)");
            return -1;
        }
        PyObject *dyn = PyTuple_GET_ITEM(c, C_DYN);
        if (dyn != Py_None && (!PyTuple_CheckExact(dyn) || PyTuple_GET_SIZE(dyn) != 3 ||
                               (PyTuple_GET_ITEM(dyn, 0) != Py_None && !PyDict_CheckExact(PyTuple_GET_ITEM(dyn, 0))) ||
                               (PyTuple_GET_ITEM(dyn, 2) != Py_None && !PyFloat_CheckExact(PyTuple_GET_ITEM(dyn, 2))))) {
            PyErr_SetString(PyExc_TypeError, "dynamic: None or (by24 dict | None, match | None, below float | None)");
            return -1;
        }
        for (int j = 0; j < 3; j += 2) { /* retain_until, send_at */
            PyObject *t = PyTuple_GET_ITEM(c, j);
            if (t != Py_None && !PyFloat_CheckExact(t)) {
                PyErr_SetString(PyExc_TypeError, "retain_until and send_at: float or None");
                return -1;
            }
        }
    }
    if (PyTuple_GET_SIZE(o[13]) != N_FIELDS || PyTuple_GET_SIZE(o[14]) != N_FIELDS) {
        PyErr_Format(PyExc_ValueError, "names and defaults: %d each (LogLine's fields)", N_FIELDS);
        return -1;
    }
    for (int i = 0; i < N_FIELDS; i++) {
        if (!PyBytes_CheckExact(PyTuple_GET_ITEM(o[13], i))) {
            PyErr_SetString(PyExc_TypeError, "names: bytes");
            return -1;
        }
    }
    if (!self->slots) {
        self->slots = PyMem_Calloc(SHAPE_SLOTS, sizeof(struct shape_slot));
        if (!self->slots) {
            PyErr_NoMemory();
            return -1;
        }
    }
    PyObject *names_list = PyList_New(0);
    if (!names_list) return -1;
    PyObject *it = PyObject_GetIter(o[1]), *nm;
    if (!it) { Py_DECREF(names_list); return -1; }
    while ((nm = PyIter_Next(it))) {
        PyObject *b = PyUnicode_Check(nm) ? PyUnicode_AsUTF8String(nm) : NULL;
        Py_DECREF(nm);
        if (!b || PyList_Append(names_list, b) < 0) {
            Py_XDECREF(b);
            Py_DECREF(it);
            Py_DECREF(names_list);
            if (!PyErr_Occurred()) PyErr_SetString(PyExc_TypeError, "shape_names: strings");
            return -1;
        }
        Py_DECREF(b);
    }
    Py_DECREF(it);
    if (PyErr_Occurred()) { Py_DECREF(names_list); return -1; }
    Py_XSETREF(self->name_bytes, PyList_AsTuple(names_list));
    Py_DECREF(names_list);
    if (!self->name_bytes) return -1;
#define FIELD(f) &self->f,
    PyObject **slots[] = {FASTPATH_ARGS(FIELD)};
#undef FIELD
    for (int i = 0; i < 16; i++) {
        Py_INCREF(o[i]);
        Py_XSETREF(*slots[i], o[i]);
    }
    return 0;
}

static int FastPath_traverse(FastPath *self, visitproc visit, void *arg) {
#define VISIT(f) Py_VISIT(self->f);
    FASTPATH_ARGS(VISIT)
#undef VISIT
    Py_VISIT(self->name_bytes);
    if (self->slots) {
        for (int i = 0; i < SHAPE_SLOTS; i++) Py_VISIT(self->slots[i].shape);
    }
    return 0;
}

static int FastPath_clear(FastPath *self) {
#define CLEAR(f) Py_CLEAR(self->f);
    FASTPATH_ARGS(CLEAR)
#undef CLEAR
    Py_CLEAR(self->name_bytes);
    if (self->slots) {
        for (int i = 0; i < SHAPE_SLOTS; i++) {
            self->slots[i].h = 0;
            Py_CLEAR(self->slots[i].kb);
            Py_CLEAR(self->slots[i].shape);
        }
    }
    return 0;
}

static void FastPath_dealloc(FastPath *self) {
    PyObject_GC_UnTrack(self);
    FastPath_clear(self);
    PyMem_Free(self->slots);
    self->slots = NULL;
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyMethodDef FastPath_methods[] = {
    {"click", (PyCFunction)(void (*)(void))FastPath_click, METH_FASTCALL,
     "click(method, path, authority, headers, ip, now) -> (line, headers, verdict) | None\n\n"
     "The common click's log line and redirect headers; None: run ClickHandler.handle."},
    {"serve", (PyCFunction)(void (*)(void))FastPath_serve, METH_FASTCALL,
     "serve(scope, proto, (ip_header, peers, writer, metrics, requests, latency_counts, buckets)) -> bool\n\n"
     "RedirectApp.__rsgi__ for the common click; False: nothing was done, handle it in Python."},
    {NULL, NULL, 0, NULL},
};

static PyMemberDef FastPath_members[] = {
    {"served", T_ULONGLONG, offsetof(FastPath, served), READONLY, "clicks answered here"},
    {"declined", T_ULONGLONG, offsetof(FastPath, declined), READONLY,
     "requests handed back to ClickHandler.handle (errors included)"},
    {"remembered", T_ULONGLONG, offsetof(FastPath, remembered), READONLY,
     "rule-evaluated decisions read from routing's memo"},
    {"errors", T_ULONGLONG, offsetof(FastPath, errors), READONLY,
     "requests handed back because a part raised"},
    {NULL, 0, 0, 0, NULL},
};

static PyTypeObject FastPathType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "engine.worker._fast.FastPath",
    .tp_basicsize = sizeof(FastPath),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "The common click of one ClickHandler, compiled (see engine/worker/_fast.c).",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)FastPath_init,
    .tp_dealloc = (destructor)FastPath_dealloc,
    .tp_traverse = (traverseproc)FastPath_traverse,
    .tp_clear = (inquiry)FastPath_clear,
    .tp_methods = FastPath_methods,
    .tp_members = FastPath_members,
};

static struct PyModuleDef fastmodule = {
    PyModuleDef_HEAD_INIT, "engine.worker._fast",
    "The common click, compiled; ClickHandler.handle is the reference (engine/worker/_fast.c).",
    -1, NULL,
};

#define INTERN(var, text) do { if (!((var) = PyUnicode_InternFromString(text))) return NULL; } while (0)

PyMODINIT_FUNC PyInit__fast(void) {
    INTERN(s_items, "items"); INTERN(s_new, "new");
    INTERN(s_zone, "zone"); INTERN(s_attrs, "attrs"); INTERN(s_proto, "proto"); INTERN(s_http, "http");
    INTERN(s_method, "method"); INTERN(s_headers, "headers"); INTERN(s_path, "path");
    INTERN(s_authority, "authority"); INTERN(s_client, "client"); INTERN(s_get, "get");
    INTERN(s_response_empty, "response_empty"); INTERN(s__fd, "_fd"); INTERN(s__size, "_size");
    INTERN(s__max_bytes, "_max_bytes"); INTERN(s__deadline, "_deadline"); INTERN(s_write, "write");
    INTERN(s_lines_written, "lines_written"); INTERN(s__short_write, "_short_write");
    INTERN(s__write_error, "_write_error"); INTERN(s_latency_sum, "latency_sum");
    if (!(i_1 = PyLong_FromLong(1))) return NULL;
    INTERN(s_host, "host"); INTERN(s_tail, "tail");
    INTERN(s_verdicts, "verdicts"); INTERN(s_prepared, "prepared"); INTERN(s_ua, "ua");
    INTERN(s_lang_header, "lang_header"); INTERN(s_campaign, "campaign");
    INTERN(s_recipient, "recipient"); INTERN(s_variant, "variant"); INTERN(s_const, "const");
    INTERN(s_memo, "memo"); INTERN(s_status, "status"); INTERN(s_url, "url");
    INTERN(s_route, "route"); INTERN(s_store, "store"); INTERN(s_store_source, "store_source");
    INTERN(s_device, "device"); INTERN(s_lang, "lang"); INTERN(s_country, "country");
    INTERN(s_region, "region"); INTERN(s_city, "city"); INTERN(s_accuracy_km, "accuracy_km");
    INTERN(s_asn, "asn"); INTERN(s_dynamic_key, "dynamic_key"); INTERN(s_round, "__round__");
    INTERN(s_redirect, "redirect"); INTERN(s_click, "click");
    INTERN(s_default, "default"); INTERN(s_expired, "expired");
    INTERN(s_not_yet_live, "not-yet-live"); INTERN(s_location, "location");
    for (int c = 0; c < 0x20; c++) NEEDS_ESCAPE[c] = 1;
    NEEDS_ESCAPE['"'] = NEEDS_ESCAPE['\\'] = 1;
    if (!(i_302 = PyLong_FromLong(302)) || !(i_3 = PyLong_FromLong(3))) return NULL;
    if (PyType_Ready(&FastPathType) < 0 || PyType_Ready(&EventIdsType) < 0) return NULL;
    IDX = (const SmslinkIndexAPI *)PyCapsule_Import(SMSLINK_INDEX_CAPI_NAME, 0);
    if (!IDX || IDX->version != SMSLINK_INDEX_CAPI_VERSION || IDX->size != sizeof(SmslinkIndexAPI)) {
        IDX = NULL; /* not built, or another version: raw_get is called instead */
        PyErr_Clear();
    }
    PyObject *m = PyModule_Create(&fastmodule);
    if (!m) return NULL;
    if (PyModule_AddObjectRef(m, "FastPath", (PyObject *)&FastPathType) < 0 ||
        PyModule_AddObjectRef(m, "EventIds", (PyObject *)&EventIdsType) < 0 ||
        PyModule_AddStringConstant(m, "SOURCE_SHA256", SMSLINK_FAST_SOURCE) < 0 ||
        PyModule_AddIntConstant(m, "READS_TOKEN_INDEX", IDX != NULL) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
