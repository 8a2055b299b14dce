<?php
/**
 * Gives an existing iTop user more profiles, with iTop's own API:
 *   php grant-profiles.php <itop folder> <login> <profile name>...
 * The unattended install creates the administrator with the profile "Administrator" only, and iTop's
 * REST API refuses every account without "REST Services User" (even an administrator), so the test
 * setup cannot do this first step through REST. Prints the user's id.
 */
require_once($argv[1].'/approot.inc.php');
require_once(APPROOT.'/application/application.inc.php');
require_once(APPROOT.'/application/startup.inc.php');

$oUser = MetaModel::GetObjectFromOQL('SELECT User WHERE login = :login', ['login' => $argv[2]]);
if ($oUser === null) {
	fwrite(STDERR, "no user {$argv[2]}\n");
	exit(1);
}
$oProfiles = $oUser->Get('profile_list');
foreach (array_slice($argv, 3) as $sProfile) {
	$oProfile = MetaModel::GetObjectFromOQL('SELECT URP_Profiles WHERE name = :name', ['name' => $sProfile]);
	if ($oProfile === null) {
		fwrite(STDERR, "no profile $sProfile\n");
		exit(1);
	}
	$oProfiles->AddItem(MetaModel::NewObject('URP_UserProfile', ['profileid' => $oProfile->GetKey()]));
}
$oUser->Set('profile_list', $oProfiles);
CMDBObject::SetTrackInfo('deskbridge test setup');
$oUser->AllowWrite(true);
$oUser->DBUpdate();
echo $oUser->GetKey(), "\n";
