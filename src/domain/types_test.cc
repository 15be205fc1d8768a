#include "domain/types.h"

#include "testing/testing.h"

namespace rapport::domain {
namespace {

TEST(DomainNames, RoundTripEveryEnumerator) {
  for (Role v : {Role::kAdmin, Role::kSupervisor, Role::kClinician, Role::kResearcher}) {
    EXPECT_EQ(*ParseRole(Name(v)), v);
  }
  for (Attendance v : {Attendance::kScheduled, Attendance::kAttended, Attendance::kNoShow,
                       Attendance::kCancelled}) {
    EXPECT_EQ(*ParseAttendance(Name(v)), v);
  }
  for (ParticipantRole v :
       {ParticipantRole::kClient, ParticipantRole::kPartner, ParticipantRole::kFamilyMember,
        ParticipantRole::kGroupMember, ParticipantRole::kCollateral, ParticipantRole::kClinician}) {
    EXPECT_EQ(*ParseParticipantRole(Name(v)), v);
  }
  for (Perspective v : {Perspective::kClient, Perspective::kClinician, Perspective::kCollateral,
                        Perspective::kObserver}) {
    EXPECT_EQ(*ParsePerspective(Name(v)), v);
  }
  for (Modality v :
       {Modality::kIndividual, Modality::kCouple, Modality::kFamily, Modality::kGroup}) {
    EXPECT_EQ(*ParseModality(Name(v)), v);
  }
}

TEST(DomainNames, UnknownNameListsTheAllowedOnes) {
  const auto parsed = ParseRole("owner");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(parsed.status().message().find("clinician"), std::string::npos);
}

}  // namespace
}  // namespace rapport::domain
