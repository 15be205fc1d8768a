#include "domain/types.h"

#include <array>
#include <utility>

namespace rapport::domain {
namespace {

template <typename E, size_t N>
using Table = std::array<std::pair<E, std::string_view>, N>;

constexpr Table<Role, 4> kRoles{{{Role::kAdmin, "admin"},
                                 {Role::kSupervisor, "supervisor"},
                                 {Role::kClinician, "clinician"},
                                 {Role::kResearcher, "researcher"}}};
constexpr Table<Modality, 4> kModalities{{{Modality::kIndividual, "individual"},
                                          {Modality::kCouple, "couple"},
                                          {Modality::kFamily, "family"},
                                          {Modality::kGroup, "group"}}};
constexpr Table<EndReason, 4> kEndReasons{{{EndReason::kCompleted, "completed"},
                                           {EndReason::kDroppedOut, "dropped-out"},
                                           {EndReason::kReferred, "referred"},
                                           {EndReason::kOther, "other"}}};
constexpr Table<Attendance, 4> kAttendances{{{Attendance::kScheduled, "scheduled"},
                                             {Attendance::kAttended, "attended"},
                                             {Attendance::kNoShow, "no-show"},
                                             {Attendance::kCancelled, "cancelled"}}};
constexpr Table<ParticipantRole, 6> kParticipantRoles{
    {{ParticipantRole::kClient, "client"},
     {ParticipantRole::kPartner, "partner"},
     {ParticipantRole::kFamilyMember, "family-member"},
     {ParticipantRole::kGroupMember, "group-member"},
     {ParticipantRole::kCollateral, "collateral"},
     {ParticipantRole::kClinician, "clinician"}}};
constexpr Table<Perspective, 4> kPerspectives{{{Perspective::kClient, "client"},
                                               {Perspective::kClinician, "clinician"},
                                               {Perspective::kCollateral, "collateral"},
                                               {Perspective::kObserver, "observer"}}};
constexpr Table<Target, 3> kTargets{
    {{Target::kClinician, "clinician"}, {Target::kMembers, "members"}, {Target::kGroup, "group"}}};

template <typename E, size_t N>
std::string_view Lookup(const Table<E, N>& table, E value) {
  for (const auto& [candidate, name] : table) {
    if (candidate == value) return name;
  }
  return "unknown";
}

template <typename E, size_t N>
Result<E> Parse(const Table<E, N>& table, std::string_view text, std::string_view what) {
  std::string allowed;
  for (const auto& [value, name] : table) {
    if (name == text) return value;
    if (!allowed.empty()) allowed += ", ";
    allowed += name;
  }
  return InvalidArgument("unknown " + std::string(what) + " '" + std::string(text) +
                         "'; expected one of: " + allowed);
}

}  // namespace

std::string_view Name(Role v) { return Lookup(kRoles, v); }
std::string_view Name(Modality v) { return Lookup(kModalities, v); }
std::string_view Name(EndReason v) { return Lookup(kEndReasons, v); }
std::string_view Name(Attendance v) { return Lookup(kAttendances, v); }
std::string_view Name(ParticipantRole v) { return Lookup(kParticipantRoles, v); }
std::string_view Name(Perspective v) { return Lookup(kPerspectives, v); }
std::string_view Name(Target v) { return Lookup(kTargets, v); }

Result<Role> ParseRole(std::string_view t) { return Parse(kRoles, t, "role"); }
Result<Modality> ParseModality(std::string_view t) { return Parse(kModalities, t, "modality"); }
Result<EndReason> ParseEndReason(std::string_view t) { return Parse(kEndReasons, t, "end reason"); }
Result<Attendance> ParseAttendance(std::string_view t) {
  return Parse(kAttendances, t, "attendance");
}
Result<ParticipantRole> ParseParticipantRole(std::string_view t) {
  return Parse(kParticipantRoles, t, "participant role");
}
Result<Perspective> ParsePerspective(std::string_view t) {
  return Parse(kPerspectives, t, "perspective");
}
Result<Target> ParseTarget(std::string_view t) { return Parse(kTargets, t, "target"); }

}  // namespace rapport::domain
