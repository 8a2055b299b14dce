#!/usr/bin/perl
# Provisions a fresh RT 5 database for the real-systems tier, through RT's own Perl API, as the README
# tells an administrator to: the bridge user (time zone UTC, an auth token, exactly the README's rights
# on the exposed queues), people, queues (exposed, sensitive, off the board), the FlowIO-id custom
# field, and the README's Scrip verbatim. Prints what it made as one JSON line on stdout.
# Run with RT_SITE_CONFIG / RT_SITE_CONFIG_DIR pointing at the instance's own config.
use strict;
use warnings;
use lib '/usr/share/request-tracker5/lib';
use RT -init;
use JSON ();

my %exposed   = map { $_ => 1 } qw(General Helpdesk);
my @queues    = qw(Helpdesk HR Facilities);
my $system    = RT->SystemUser;
my %out;

sub ok { my ($what, $ok, $msg) = @_; die "$what: $msg\n" unless $ok; }

# Queues ("General" exists already).
for my $name (@queues) {
    my $queue = RT::Queue->new($system);
    ok("queue $name", $queue->Create(Name => $name));
}
my %queue;
for my $name ('General', @queues) {
    my $queue = RT::Queue->new($system);
    $queue->Load($name);
    $queue{$name} = $queue;
    $out{queues}{$name} = $queue->Id;
}

# People and the bridge.
for my $spec (
    [ 'deskbridge', 'Deskbridge Bridge', 'deskbridge@example.com' ],
    [ 'alice',      'Alice Agent',       'alice@example.com' ],
    [ 'bob',        'Bob Builder',       'bob@example.com' ],
) {
    my ($name, $real, $email) = @$spec;
    my $user = RT::User->new($system);
    ok("user $name", $user->Create(Name => $name, RealName => $real, EmailAddress => $email,
        Privileged => 1, Timezone => 'UTC'));
    my $token = RT::AuthToken->new($system);
    my ($id, $msg, $auth) = $token->Create(Owner => $user->Id, Description => 'deskbridge tests');
    die "token $name: $msg\n" unless $id;
    $out{tokens}{$name} = $auth;
    $out{users}{$name}  = $user->Id;
}
my $bridge = RT::User->new($system);
$bridge->Load('deskbridge');
# People work everywhere; the bridge gets the README's rights on the exposed queues only.
my $everyone = RT::Group->new($system);
$everyone->LoadSystemInternalGroup('Privileged');
for my $right (qw(SeeQueue ShowTicket CreateTicket ModifyTicket OwnTicket ReplyToTicket CommentOnTicket
                  SeeCustomField ModifyCustomField ShowTicketComments)) {
    for my $name (qw(alice bob)) {
        my $user = RT::User->new($system);
        $user->Load($name);
        ok("right $right $name", $user->PrincipalObj->GrantRight(Right => $right, Object => RT->System));
    }
}
for my $name (keys %exposed) {
    for my $right (qw(SeeQueue ShowTicket SeeCustomField ModifyCustomField)) {
        ok("bridge $right on $name", $bridge->PrincipalObj->GrantRight(Right => $right, Object => $queue{$name}));
    }
}
# Facilities is not on the board, but the bridge may read it (as with rights granted globally); HR it
# may not see at all.
for my $right (qw(SeeQueue ShowTicket)) {
    ok("bridge $right on Facilities", $bridge->PrincipalObj->GrantRight(Right => $right, Object => $queue{Facilities}));
}

# FlowIO-id: one value, on the exposed queues and HR (a card id for a ticket moved there is removed).
my $cf = RT::CustomField->new($system);
ok('custom field', $cf->Create(Name => 'FlowIO-id', Type => 'FreeformSingle', LookupType => 'RT::Queue-RT::Ticket'));
for my $name (qw(General Helpdesk HR)) {
    ok("apply FlowIO-id to $name", $cf->AddToObject($queue{$name}));
}
$out{customField} = $cf->Id;

# The README's Scrip, verbatim.
my $commit = <<'PERL';
use LWP::UserAgent;
use JSON ();
my $txn = $self->TransactionObj;
my $ua  = LWP::UserAgent->new(timeout => 5);   # RT waits for the Scrip: keep it short
my $res = $ua->post(
    RT->Config->Get('DeskbridgeURL') . '/rt/ticket-events',
    'Content-Type'       => 'application/json',
    'X-Deskbridge-Token' => RT->Config->Get('DeskbridgeToken'),
    Content => JSON::encode_json({
        # ObjectId, not TicketObj->Id: for a merged-away ticket TicketObj is already the survivor
        ticket_id      => $txn->ObjectId,
        transaction_id => $txn->Id,
        type           => $txn->Type,
        creator        => $txn->CreatorObj->Name,
    }),
);
RT->Logger->warning('deskbridge: ' . $res->status_line) unless $res->is_success;
return 1;
PERL
my $scrip = RT::Scrip->new($system);
ok('scrip', $scrip->Create(
    Description            => 'deskbridge',
    ScripCondition         => 'On Transaction',
    ScripAction            => 'User Defined',
    Template               => 'Blank',
    Stage                  => 'TransactionBatch',
    CustomPrepareCode      => 'return 1;',
    CustomCommitCode       => $commit,
    CustomIsApplicableCode => '',
    Queue                  => 0,
));
$out{scrip} = $scrip->Id;
print JSON::encode_json(\%out), "\n";
