#ifndef GEARBOX_SD_BUS_HELPERS_H
#define GEARBOX_SD_BUS_HELPERS_H
/* What the power-profiles D-Bus face needs of sd-bus that Swift cannot reach directly:
   the vtable (built from C macros), and the variadic calls, wrapped in fixed signatures. */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <systemd/sd-bus.h>

/* The power-profiles-daemon interface (net.hadess.PowerProfiles.xml): one vtable serves both
   names. Every member is UNPRIVILEGED: the handlers check who may change what themselves
   (root, the configured group, or polkit) and say so in their errors; sd-bus's own check
   would demand CAP_SYS_ADMIN of the caller and answer a bare "Access denied". */
static inline const sd_bus_vtable *gearbox_power_profiles_vtable(
    sd_bus_property_get_t get, sd_bus_property_set_t set_active,
    sd_bus_message_handler_t hold, sd_bus_message_handler_t release) {
    static sd_bus_vtable table[12];
    const sd_bus_vtable built[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_WRITABLE_PROPERTY("ActiveProfile", "s", get, set_active, 0,
                                 SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE | SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_PROPERTY("PerformanceInhibited", "s", get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("PerformanceDegraded", "s", get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Profiles", "aa{sv}", get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Actions", "as", get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("ActiveProfileHolds", "aa{sv}", get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Version", "s", get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_METHOD_WITH_NAMES("HoldProfile", "sss",
                                 SD_BUS_PARAM(profile) SD_BUS_PARAM(reason) SD_BUS_PARAM(application_id),
                                 "u", SD_BUS_PARAM(cookie), hold, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("ReleaseProfile", "u", SD_BUS_PARAM(cookie), "", "", release,
                                 SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_SIGNAL_WITH_NAMES("ProfileReleased", "u", SD_BUS_PARAM(cookie), 0),
        SD_BUS_VTABLE_END,
    };
    _Static_assert(sizeof built == sizeof table, "the vtable has 12 entries");
    memcpy(table, built, sizeof built);
    return table;
}

/* Appends one {sv} entry whose value is a string. */
static inline int gearbox_bus_append_string_entry(sd_bus_message *m, const char *key, const char *value) {
    return sd_bus_message_append(m, "{sv}", key, "s", value);
}

static inline int gearbox_bus_reply_u32(sd_bus_message *call, uint32_t value) {
    return sd_bus_reply_method_return(call, "u", value);
}

static inline int gearbox_bus_reply_empty(sd_bus_message *call) {
    return sd_bus_reply_method_return(call, "");
}

static inline int gearbox_bus_emit_u32(sd_bus *bus, const char *path, const char *interface,
                                       const char *member, uint32_t value) {
    return sd_bus_emit_signal(bus, path, interface, member, "u", value);
}

/* The sender's effective uid and groups, from the bus (GetConnectionCredentials); no /proc
   read, which the sandbox would hide. Returns how many gids were stored (at most max), or a
   negative errno. */
static inline int gearbox_bus_sender_ids(sd_bus_message *m, uid_t *uid, gid_t *gids, int max) {
    sd_bus_creds *creds = NULL;
    int r = sd_bus_query_sender_creds(m, SD_BUS_CREDS_UID | SD_BUS_CREDS_EUID | SD_BUS_CREDS_GID
                                             | SD_BUS_CREDS_SUPPLEMENTARY_GIDS, &creds);
    if (r < 0) return r;
    r = sd_bus_creds_get_euid(creds, uid);
    if (r < 0) r = sd_bus_creds_get_uid(creds, uid);
    if (r < 0) { sd_bus_creds_unref(creds); return r; }
    int count = 0;
    gid_t primary;
    if (count < max && sd_bus_creds_get_gid(creds, &primary) >= 0) gids[count++] = primary;
    const gid_t *more = NULL;
    int n = sd_bus_creds_get_supplementary_gids(creds, &more);
    for (int i = 0; i < n && count < max; i++) gids[count++] = more[i];
    sd_bus_creds_unref(creds);
    return count;
}

/* 1 when `name` has an owner on the bus, 0 when not, negative errno on failure. */
static inline int gearbox_bus_name_has_owner(sd_bus *bus, const char *name) {
    sd_bus_message *reply = NULL;
    int r = sd_bus_call_method(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                               "NameHasOwner", NULL, &reply, "s", name);
    if (r < 0) return r;
    int owned = 0;
    r = sd_bus_message_read(reply, "b", &owned);
    sd_bus_message_unref(reply);
    return r < 0 ? r : (owned ? 1 : 0);
}

/* Asks polkit whether the bus name `sender` may do `action`, without interaction (the bus
   thread waits for the answer). 1 authorised, 0 not, negative errno when polkit failed. */
static inline int gearbox_bus_polkit_check(sd_bus *bus, const char *sender, const char *action) {
    sd_bus_message *reply = NULL;
    int r = sd_bus_call_method(bus, "org.freedesktop.PolicyKit1", "/org/freedesktop/PolicyKit1/Authority",
                               "org.freedesktop.PolicyKit1.Authority", "CheckAuthorization", NULL, &reply,
                               "(sa{sv})sa{ss}us", "system-bus-name", 1, "name", "s", sender,
                               action, 0, (uint32_t)0, "");
    if (r < 0) return r;
    int authorized = 0, challenge = 0;
    r = sd_bus_message_enter_container(reply, 'r', "bba{ss}");
    if (r >= 0) r = sd_bus_message_read(reply, "bb", &authorized, &challenge);
    sd_bus_message_unref(reply);
    return r < 0 ? r : (authorized ? 1 : 0);
}

/* PropertiesChanged for what a profile change or a hold changes. */
static inline int gearbox_bus_emit_profile_changes(sd_bus *bus, const char *path, const char *interface) {
    return sd_bus_emit_properties_changed(bus, path, interface, "ActiveProfile", "ActiveProfileHolds", NULL);
}

/* Subscribes `handler` to a signal; the match lives as long as the bus. */
static inline int gearbox_bus_match_signal(sd_bus *bus, const char *sender, const char *path, const char *interface,
                                           const char *member, sd_bus_message_handler_t handler, void *userdata) {
    return sd_bus_match_signal(bus, NULL, sender, path, interface, member, handler, userdata);
}

/* Reads NameOwnerChanged's (name, old owner, new owner). */
static inline int gearbox_bus_read_owner_change(sd_bus_message *m, const char **name, const char **old_owner,
                                                const char **new_owner) {
    return sd_bus_message_read(m, "sss", name, old_owner, new_owner);
}
#endif
