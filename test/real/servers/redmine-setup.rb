# Provisions a fresh Redmine 5 database for the real-systems tier (run with `rails runner`, after
# db:migrate and redmine:load_default_data), as the README tells an administrator to: the REST API on,
# a bridge user and a developer with API keys, the "devteam" project (the bridge a Manager there) and
# the "ops" project (the bridge a Developer), the default trackers and workflow, an issue custom field
# for the OTRS ticket number. Prints what it made as one JSON line on stdout.
require "json"

Setting.rest_api_enabled = "1"
Setting.default_language = "en"

manager = Role.find_by!(name: "Manager")
developer = Role.find_by!(name: "Developer")
field = IssueCustomField.create!(
  name: "OTRS ticket", field_format: "string", is_for_all: true, visible: true,
  is_filter: true, searchable: true, trackers: Tracker.all
)
project = Project.create!(
  name: "Development team", identifier: "devteam", is_public: false,
  trackers: Tracker.all, enabled_module_names: %w[issue_tracking]
)
# A second project where the bridge has only the Developer role: the default workflow lets a developer
# move an issue on (In Progress, Resolved, Feedback, Closed) but never back to New.
ops = Project.create!(
  name: "Operations", identifier: "ops", is_public: false,
  trackers: Tracker.all, enabled_module_names: %w[issue_tracking]
)

people = {
  "deskbridge" => { firstname: "Deskbridge", lastname: "Bot" },
  "jane" => { firstname: "Jane", lastname: "Dev" },
}
out = { users: {}, keys: {} }
people.each do |login, names|
  user = User.new(firstname: names[:firstname], lastname: names[:lastname], mail: "#{login}@example.com")
  user.login = login
  user.password = "#{login}-password-123"
  user.password_confirmation = user.password
  user.status = User::STATUS_ACTIVE
  user.save!
  Member.create!(principal: user, project: project, roles: [login == "deskbridge" ? manager : developer])
  Member.create!(principal: user, project: ops, roles: [developer])
  out[:users][login] = user.id
  out[:keys][login] = user.api_key
end

out[:projects] = { project.identifier => project.id, ops.identifier => ops.id }
out[:customField] = field.id
out[:trackers] = Tracker.all.map { |t| [t.name, t.id] }.to_h
out[:statuses] = IssueStatus.all.map { |s| [s.name, s.id] }.to_h
puts JSON.generate(out)
