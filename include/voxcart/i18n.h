/*
 * Messages and formatting per locale. The texts the customer hears live in
 * intents/messages/<locale>.json, one flat object of "key": "text with
 * {placeholders}" per locale; this module loads them, picks the locale for a
 * request, fills placeholders, and formats what differs between languages:
 * plural forms, an item with its quantity and size ("2 large lattes", "ein
 * großer Cappuccino"), lists ("a, b and c") and money, written ("€4.50",
 * "4,50 €") and spoken ("4 euros 50", "4 dollars and 50 cents", "4 Euro 50").
 *
 * Money is always an integer count of minor units plus an ISO 4217 code; the
 * number of minor digits comes from the currency table here, never from a
 * floating-point value.
 */
#ifndef VOXCART_I18N_H
#define VOXCART_I18N_H

#include <stddef.h>
#include <stdint.h>

#include "voxcart/common.h"

struct vx_i18n;
struct vx_locale;

/* A placeholder value for vx_format: {name} is replaced by value. */
struct vx_arg {
    const char *name;
    const char *value;
};

/*
 * Loads every messages/<locale>.json in dir. Each file must hold the keys the
 * formatting below needs (money.*, number.*, list.*, item.*); errors name the
 * file and the key. Returns 0, VX_ENOTFOUND (no locale at all) or VX_ECONFIG.
 */
int vx_i18n_load(const char *dir, struct vx_i18n **out, struct vx_err *e);
void vx_i18n_free(struct vx_i18n *m);

size_t vx_i18n_count(const struct vx_i18n *m);
const struct vx_locale *vx_i18n_at(const struct vx_i18n *m, size_t i);
/* The locale for a request: exact match, else the same language, else en-US, else the first. */
const struct vx_locale *vx_i18n_get(const struct vx_i18n *m, const char *locale);

const char *vx_locale_name(const struct vx_locale *l); /* "de-DE" */
const char *vx_locale_lang(const struct vx_locale *l); /* "de" */
const char *vx_locale_file(const struct vx_locale *l); /* the file it came from */
/* The raw text of key, or NULL. */
const char *vx_locale_text(const struct vx_locale *l, const char *key);
/* Calls fn for every key of the locale, in file order. */
void vx_locale_keys(const struct vx_locale *l, void (*fn)(void *ud, const char *key), void *ud);

/*
 * Fills the {placeholders} of tmpl from args into out. An unknown placeholder
 * is left empty and reported as VX_ENOTFOUND; a truncated result as VX_ERANGE.
 * A '{' that does not start a placeholder is copied as is.
 */
int vx_format(const char *tmpl, const struct vx_arg *args, size_t nargs, char *out, size_t outsz);
/* vx_format on the text of key; VX_ENOTFOUND (and an empty out) when the key is missing. */
int vx_locale_format(const struct vx_locale *l, const char *key, const struct vx_arg *args,
                     size_t nargs, char *out, size_t outsz);
/* Calls fn with each placeholder name of tmpl (name is not NUL-terminated: len bytes). */
void vx_placeholders(const char *tmpl, void (*fn)(void *ud, const char *name, size_t len),
                     void *ud);

/*
 * A count as a customer may give it: digits, or a number word of the locale
 * (message number.words lists "zero one two ..." up to twenty). The platform
 * sends digits for AMAZON.NUMBER; test tools and typed input send words.
 */
int vx_locale_number(const struct vx_locale *l, const char *text, long long *out);

enum vx_plural { VX_PLURAL_ONE, VX_PLURAL_OTHER };
/* The plural category of n in a language (CLDR cardinal rules for the languages we speak). */
enum vx_plural vx_plural_of(const char *lang, long long n);

/*
 * The words for a thing in one language. A noun has its singular, plural and
 * grammatical gender; an adjective (a size) has its base form, the form used
 * with a plural noun, and the forms that agree with a singular noun of each
 * gender. NULL fields fall back to `one`.
 */
struct vx_words {
    const char *one;
    const char *other;
    const char *forms[3]; /* with a singular noun that is [0] masculine, [1] feminine, [2] neuter */
    char gender;          /* of a noun: 'm', 'f', 'n', or 0 when the language has none */
};

/* The noun in the number n calls for. */
const char *vx_words_noun(const struct vx_words *w, const char *lang, long long n);
/* The adjective agreeing with noun in the number n calls for. */
const char *vx_words_adj(const struct vx_words *adj, const struct vx_words *noun, const char *lang,
                         long long n);

/* "2 large lattes", "ein großer Cappuccino": messages item.one.<gender> / item.other. */
int vx_locale_item(const struct vx_locale *l, long long qty, const struct vx_words *noun,
                   const struct vx_words *adj, char *out, size_t outsz);
/* "a, b and c" (conj "and") or "a, b or c" (conj "or"). */
int vx_locale_join(const struct vx_locale *l, const char *const *items, size_t n, const char *conj,
                   char *out, size_t outsz);

/* ISO 4217: number of minor digits, or -1 for a code we do not know. */
int vx_currency_digits(const char *code);
/* The amount from which a shop asks for the voice code unless it says otherwise: 100 in its
 * currency, in minor units. */
int64_t vx_voice_code_default(const char *currency);
/* The symbol written with amounts ("€", "$", "£"); the code itself when there is none. */
const char *vx_currency_symbol(const char *code);

/* "€4.50" / "4,50 €": for cards and logs. */
int vx_money_written(const struct vx_locale *l, int64_t minor, const char *currency, char *out,
                     size_t outsz);
/*
 * What Alexa should say: "9 dollars", "4 dollars and 50 cents", "4 pounds 50",
 * "11 euros 50", "4 Euro 50", "50 cents". VX_ENOTFOUND when the locale has no
 * names for the currency (out then holds "4.50 CHF"), VX_EINVAL for an unknown
 * currency or a negative amount.
 */
int vx_money_spoken(const struct vx_locale *l, int64_t minor, const char *currency, char *out,
                    size_t outsz);

#endif
