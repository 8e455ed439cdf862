/*
 * Messages and formatting per locale: loading the shipped messages and refusing
 * broken ones, placeholders, plural forms, items with gender agreement, lists,
 * and money written and spoken in en-US, en-GB and de-DE, always from integer
 * minor units.
 */
#include "voxcart/i18n.h"
#include "vxtest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct vx_i18n *m;

static const struct vx_locale *loc(const char *name)
{
    return vx_i18n_get(m, name);
}

static const char *spoken(const char *l, long long minor, const char *cur)
{
    static char out[128];
    vx_money_spoken(loc(l), minor, cur, out, sizeof(out));
    return out;
}

static const char *written(const char *l, long long minor, const char *cur)
{
    static char out[128];
    vx_money_written(loc(l), minor, cur, out, sizeof(out));
    return out;
}

static void test_load(void)
{
    struct vx_err e;
    VX_CHECK_INT(vx_i18n_load(VX_SOURCE_DIR "/intents/messages", &m, &e), 0);
    VX_CHECK(m != NULL);
    if (!m)
        return;
    VX_CHECK_INT(vx_i18n_count(m), 3);
    VX_CHECK_STR(vx_locale_name(loc("de-DE")), "de-DE");
    VX_CHECK_STR(vx_locale_lang(loc("de-DE")), "de");
    VX_CHECK_STR(vx_locale_name(loc("en-GB")), "en-GB");
    /* the same language, then en-US, then the first */
    VX_CHECK_STR(vx_locale_name(loc("de-AT")), "de-DE");
    VX_CHECK_STR(vx_locale_name(loc("fr-FR")), "en-US");
    VX_CHECK_STR(vx_locale_name(loc(NULL)), "en-US");
    VX_CHECK_STR(vx_locale_text(loc("en-US"), "ask.confirm"), "Shall I place the order?");
    VX_CHECK(vx_locale_text(loc("en-US"), "no.such.key") == NULL);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return;
    fputs(text, f);
    fclose(f);
}

static void test_load_errors(void)
{
    char dir[] = "/tmp/vx-i18n-XXXXXX", path[256];
    struct vx_i18n *bad = NULL;
    struct vx_err e;

    if (!mkdtemp(dir))
        return;
    vx_err_clear(&e);
    VX_CHECK_INT(vx_i18n_load(dir, &bad, &e), VX_ENOTFOUND);
    VX_CHECK(strstr(e.msg, "no messages") != NULL);

    snprintf(path, sizeof(path), "%s/en-US.json", dir);
    write_file(path, "{\"money.major\": \"{major} {unit}\"}");
    VX_CHECK_INT(vx_i18n_load(dir, &bad, &e), VX_ECONFIG);
    VX_CHECK(strstr(e.msg, "en-US.json: missing message 'money.minor'") != NULL);

    write_file(path, "{\"money.major\": 5}");
    VX_CHECK_INT(vx_i18n_load(dir, &bad, &e), VX_ECONFIG);
    VX_CHECK(strstr(e.msg, "money.major: must be a string") != NULL);

    write_file(path, "[1, 2");
    VX_CHECK_INT(vx_i18n_load(dir, &bad, &e), VX_ECONFIG);
    VX_CHECK(strstr(e.msg, "en-US.json: not a JSON object") != NULL);
    VX_CHECK(bad == NULL);
    unlink(path);
    rmdir(dir);
}

static void test_format(void)
{
    char out[64];
    struct vx_arg args[] = {{"items", "2 lattes"}, {"total", "9 euros"}};
    VX_CHECK_INT(vx_format("{items}, that's {total}.", args, 2, out, sizeof(out)), 0);
    VX_CHECK_STR(out, "2 lattes, that's 9 euros.");
    /* a placeholder nobody fills is left empty and reported */
    VX_CHECK_INT(vx_format("a{missing}b", args, 2, out, sizeof(out)), VX_ENOTFOUND);
    VX_CHECK_STR(out, "ab");
    /* braces that are no placeholder stay */
    VX_CHECK_INT(vx_format("{ x } {} {items", args, 2, out, sizeof(out)), 0);
    VX_CHECK_STR(out, "{ x } {} {items");
    VX_CHECK_INT(vx_format("{items}{items}{items}", args, 2, out, 10), VX_ERANGE);
    VX_CHECK_STR(out, "2 lattes2");
    VX_CHECK_INT(vx_locale_format(loc("en-US"), "no.such.key", NULL, 0, out, sizeof(out)),
                 VX_ENOTFOUND);
    VX_CHECK_STR(out, "");
}

static void count(void *ud, const char *name, size_t len)
{
    (void)name;
    (void)len;
    (*(int *)ud)++;
}

static void test_placeholders(void)
{
    int n = 0;
    vx_placeholders("{a} and {b} but not { c } or {}", count, &n);
    VX_CHECK_INT(n, 2);
}

static void test_numbers(void)
{
    long long n = -1;
    VX_CHECK_INT(vx_locale_number(loc("en-US"), "12", &n), 0);
    VX_CHECK_INT(n, 12);
    VX_CHECK_INT(vx_locale_number(loc("en-US"), "three", &n), 0);
    VX_CHECK_INT(n, 3);
    VX_CHECK_INT(vx_locale_number(loc("en-GB"), "Twenty", &n), 0);
    VX_CHECK_INT(n, 20);
    VX_CHECK_INT(vx_locale_number(loc("de-DE"), "zwölf", &n), 0);
    VX_CHECK_INT(n, 12);
    VX_CHECK_INT(vx_locale_number(loc("de-DE"), "zwei", &n), 0);
    VX_CHECK_INT(n, 2);
    VX_CHECK_INT(vx_locale_number(loc("de-DE"), "three", &n), VX_EPARSE);
    VX_CHECK_INT(vx_locale_number(loc("en-US"), "?", &n), VX_EPARSE);
    VX_CHECK_INT(vx_locale_number(loc("en-US"), "tw", &n), VX_EPARSE);
    VX_CHECK_INT(vx_locale_number(loc("en-US"), NULL, &n), VX_EPARSE);
}

static void test_plural(void)
{
    VX_CHECK_INT(vx_plural_of("en", 1), VX_PLURAL_ONE);
    VX_CHECK_INT(vx_plural_of("en", 0), VX_PLURAL_OTHER);
    VX_CHECK_INT(vx_plural_of("en", 2), VX_PLURAL_OTHER);
    VX_CHECK_INT(vx_plural_of("de", 1), VX_PLURAL_ONE);
    VX_CHECK_INT(vx_plural_of("de", 21), VX_PLURAL_OTHER);
    VX_CHECK_INT(vx_plural_of("fr", 0), VX_PLURAL_ONE);
}

static void test_items(void)
{
    struct vx_words latte_en = {"latte", "lattes", {NULL, NULL, NULL}, 0};
    struct vx_words large_en = {"large", NULL, {NULL, NULL, NULL}, 0};
    struct vx_words capp = {"Cappuccino", "Cappuccino", {NULL, NULL, NULL}, 'm'};
    struct vx_words choc = {"heiße Schokolade", "heiße Schokoladen", {NULL, NULL, NULL}, 'f'};
    /* German messages speak items as objects ("Du bestellst einen großen Cappuccino"): the
       masculine form is the accusative one, as in the catalog */
    struct vx_words gross = {"groß", "große", {"großen", "große", "großes"}, 0};
    struct vx_words espresso = {"espresso", "espressos", {NULL, NULL, NULL}, 0};
    char out[128];

    vx_locale_item(loc("en-US"), 2, &latte_en, &large_en, out, sizeof(out));
    VX_CHECK_STR(out, "2 large lattes");
    vx_locale_item(loc("en-US"), 1, &latte_en, &large_en, out, sizeof(out));
    VX_CHECK_STR(out, "1 large latte");
    /* no size: no double space */
    vx_locale_item(loc("en-GB"), 1, &espresso, NULL, out, sizeof(out));
    VX_CHECK_STR(out, "1 espresso");
    vx_locale_item(loc("de-DE"), 1, &capp, &gross, out, sizeof(out));
    VX_CHECK_STR(out, "einen großen Cappuccino");
    vx_locale_item(loc("de-DE"), 1, &choc, &gross, out, sizeof(out));
    VX_CHECK_STR(out, "eine große heiße Schokolade");
    vx_locale_item(loc("de-DE"), 3, &choc, &gross, out, sizeof(out));
    VX_CHECK_STR(out, "3 große heiße Schokoladen");
    vx_locale_item(loc("de-DE"), 1, &capp, NULL, out, sizeof(out));
    VX_CHECK_STR(out, "einen Cappuccino");
}

static void test_join(void)
{
    const char *three[] = {"a", "b", "c"};
    char out[64];
    vx_locale_join(loc("en-US"), three, 1, "and", out, sizeof(out));
    VX_CHECK_STR(out, "a");
    vx_locale_join(loc("en-US"), three, 2, "and", out, sizeof(out));
    VX_CHECK_STR(out, "a and b");
    vx_locale_join(loc("en-US"), three, 3, "or", out, sizeof(out));
    VX_CHECK_STR(out, "a, b or c");
    vx_locale_join(loc("de-DE"), three, 3, "and", out, sizeof(out));
    VX_CHECK_STR(out, "a, b und c");
    vx_locale_join(loc("de-DE"), three, 0, "or", out, sizeof(out));
    VX_CHECK_STR(out, "");
}

static void test_currencies(void)
{
    VX_CHECK_INT(vx_currency_digits("EUR"), 2);
    VX_CHECK_INT(vx_currency_digits("JPY"), 0);
    VX_CHECK_INT(vx_currency_digits("KWD"), 3);
    VX_CHECK_INT(vx_currency_digits("XYZ"), -1);
    VX_CHECK_INT(vx_currency_digits(NULL), -1);
    VX_CHECK_STR(vx_currency_symbol("GBP"), "£");
    VX_CHECK_STR(vx_currency_symbol("XYZ"), "XYZ");
}

static void test_money_written(void)
{
    VX_CHECK_STR(written("en-US", 450, "USD"), "$4.50");
    VX_CHECK_STR(written("en-US", 900, "USD"), "$9.00");
    VX_CHECK_STR(written("en-US", 5, "EUR"), "€0.05");
    VX_CHECK_STR(written("en-US", 123456789, "EUR"), "€1,234,567.89");
    VX_CHECK_STR(written("en-GB", 450, "GBP"), "£4.50");
    VX_CHECK_STR(written("de-DE", 450, "EUR"), "4,50 €");
    VX_CHECK_STR(written("de-DE", 123456789, "EUR"), "1.234.567,89 €");
    VX_CHECK_STR(written("de-DE", 450, "JPY"), "450 ¥");
    VX_CHECK_STR(written("en-US", 1234, "KWD"), "KD1.234");
    VX_CHECK_STR(written("en-US", 100000, "USD"), "$1,000.00");
    VX_CHECK_STR(written("en-US", 0, "USD"), "$0.00");
    {
        char out[32];
        VX_CHECK_INT(vx_money_written(loc("en-US"), -1, "USD", out, sizeof(out)), VX_EINVAL);
        VX_CHECK_INT(vx_money_written(loc("en-US"), 1, "XYZ", out, sizeof(out)), VX_EINVAL);
    }
}

static void test_money_spoken(void)
{
    /* en-US: "and ... cents" */
    VX_CHECK_STR(spoken("en-US", 900, "USD"), "9 dollars");
    VX_CHECK_STR(spoken("en-US", 450, "USD"), "4 dollars and 50 cents");
    VX_CHECK_STR(spoken("en-US", 100, "USD"), "1 dollar");
    VX_CHECK_STR(spoken("en-US", 101, "USD"), "1 dollar and 1 cent");
    VX_CHECK_STR(spoken("en-US", 50, "USD"), "50 cents");
    VX_CHECK_STR(spoken("en-US", 1150, "EUR"), "11 euros and 50 cents");
    /* en-GB: "4 pounds 50" */
    VX_CHECK_STR(spoken("en-GB", 450, "GBP"), "4 pounds 50");
    VX_CHECK_STR(spoken("en-GB", 100, "GBP"), "1 pound");
    VX_CHECK_STR(spoken("en-GB", 1, "GBP"), "1 penny");
    VX_CHECK_STR(spoken("en-GB", 75, "GBP"), "75 pence");
    VX_CHECK_STR(spoken("en-GB", 1150, "EUR"), "11 euros 50");
    /* de-DE: "4 Euro 50", never "4,5 Euro" */
    VX_CHECK_STR(spoken("de-DE", 450, "EUR"), "4 Euro 50");
    VX_CHECK_STR(spoken("de-DE", 900, "EUR"), "9 Euro");
    VX_CHECK_STR(spoken("de-DE", 405, "EUR"), "4 Euro 5");
    VX_CHECK_STR(spoken("de-DE", 5, "EUR"), "5 Cent");
    VX_CHECK_STR(spoken("de-DE", 250, "GBP"), "2 Pfund 50");
    /* large amounts stay exact: integers all the way */
    VX_CHECK_STR(spoken("en-US", 900719925474099199LL, "USD"),
                 "9007199254740991 dollars and 99 cents");
    {
        char out[64];
        /* a currency the messages have no names for: digits and code, reported */
        VX_CHECK_INT(vx_money_spoken(loc("en-US"), 450, "CHF", out, sizeof(out)), VX_ENOTFOUND);
        VX_CHECK_STR(out, "4.50 CHF");
        VX_CHECK_INT(vx_money_spoken(loc("de-DE"), 450, "CHF", out, sizeof(out)), VX_ENOTFOUND);
        VX_CHECK_STR(out, "4,50 CHF");
        VX_CHECK_INT(vx_money_spoken(loc("de-DE"), 450, "JPY", out, sizeof(out)), VX_ENOTFOUND);
        VX_CHECK_STR(out, "450 JPY");
        VX_CHECK_INT(vx_money_spoken(loc("de-DE"), -5, "EUR", out, sizeof(out)), VX_EINVAL);
        VX_CHECK_INT(vx_money_spoken(loc("de-DE"), 5, "XYZ", out, sizeof(out)), VX_EINVAL);
    }
}

int main(void)
{
    VX_RUN(test_load);
    if (!m)
        return VX_DONE();
    VX_RUN(test_load_errors);
    VX_RUN(test_format);
    VX_RUN(test_placeholders);
    VX_RUN(test_numbers);
    VX_RUN(test_plural);
    VX_RUN(test_items);
    VX_RUN(test_join);
    VX_RUN(test_currencies);
    VX_RUN(test_money_written);
    VX_RUN(test_money_spoken);
    vx_i18n_free(m);
    return VX_DONE();
}
