using Dapper;
using Foresight.Core.Surveys;
using Foresight.Server.Features.Accounts;
using Foresight.Server.Features.Panel;
using Foresight.Server.Features.Surveys;
using Foresight.Server.Plumbing;
using Microsoft.Extensions.Options;

namespace Foresight.Server.Features.Console;

/// <summary>The sample survey of `.ci/serve.sh` (Foresight:SampleSurvey): a demo coordinator and a panel of demo experts, for trying Foresight out.</summary>
public sealed class SampleSurvey(Db db, IOptions<ForesightOptions> settings, IHostEnvironment env, LinkVault vault, TimeProvider clock)
{
    public const string DemoCoordinator = "coordinator@foresight.local";

    static readonly string[] OrgTypes = ["ENT", "UNI", "INST", "GOV", "ENT_LEAD", "ENT_PRIV", "NRDI", "THINK"];
    static readonly string[] Regions = ["JJJ", "YRD", "GBA", "OTHER_CN", "CN_EAST", "CN_OTHER"];

    /// <summary>
    /// Imports the sample survey if it is not there, with a demo coordinator and a panel of demo experts. At every start
    /// the demo coordinator gets a fresh password and one demo expert a fresh link; returns the lines that print them.
    /// </summary>
    public async Task<IEnumerable<string>> LoadAsync(ILogger logger)
    {
        var options = settings.Value;
        if (string.IsNullOrEmpty(options.SampleSurvey)) return [];
        var notes = new List<string>();
        var path = Path.GetFullPath(options.SampleSurvey!, env.ContentRootPath);
        var yaml = await File.ReadAllTextAsync(path);
        var parsed = SurveyFile.Parse(yaml, Path.GetFileName(path));
        if (!parsed.Ok) throw new InvalidOperationException($"sample survey {path} is not valid: {string.Join("; ", parsed.Errors)}");
        var survey = parsed.Survey!;

        await using var w = await db.BeginWriteAsync();
        var (c, tx) = w;
        var now = Db.Iso(clock.GetUtcNow());
        var password = Secrets.NewPassword();
        var coordinator = await c.ExecuteScalarAsync<long?>("SELECT id FROM users WHERE email = @DemoCoordinator", new { DemoCoordinator }, tx);
        if (coordinator is null)
            coordinator = await c.ExecuteScalarAsync<long>("""
                INSERT INTO users (email, name, role, password_hash, created_at) VALUES (@DemoCoordinator, 'Demo coordinator', 'coordinator', @hash, @now)
                    RETURNING id
                """, new { DemoCoordinator, hash = AccountService.HashPassword(password), now }, tx);
        else
            await c.ExecuteAsync("UPDATE users SET password_hash = @hash, disabled_at = NULL WHERE id = @coordinator",
                new { hash = AccountService.HashPassword(password), coordinator }, tx);

        var surveyId = await c.ExecuteScalarAsync<long?>("SELECT id FROM surveys WHERE slug = @Id", new { survey.Id }, tx);
        if (surveyId is null)
        {
            surveyId = await SurveyStore.InsertAsync(c, tx, survey, yaml, Path.GetFileName(path), coordinator, clock.GetUtcNow());
            var fields = await SurveyStore.FieldsAsync(c, surveyId.Value, tx);
            for (int i = 1; i <= options.SampleExperts; i++)
            {
                var expertId = await c.ExecuteScalarAsync<long>("""
                    INSERT INTO experts (name, email, organisation, org_type, region, expertise, language, created_at)
                    VALUES (@name, @email, @org, @orgType, @region, @expertise, @language, @now)
                    ON CONFLICT (email) DO UPDATE SET name = excluded.name RETURNING id
                    """, new
                    {
                        name = $"Demo expert {i:00}", email = $"demo{i:00}@{survey.Id}.example", org = $"Demo organisation {1 + i % 7}",
                        orgType = OrgTypes[i % OrgTypes.Length], region = Regions[i % Regions.Length],
                        expertise = string.Join(';', fields.Select(f => f.Code)), language = i % 3 == 0 ? Languages.English : Languages.Chinese, now,
                    }, tx);
                var memberId = await PanelService.InsertMemberAsync(c, tx, surveyId.Value, expertId, Secrets.New(), vault, clock);
                // Each demo expert answers one field (two in a survey with few fields), as in a national panel.
                var assigned = fields.Count <= 2 ? fields : [fields[(i - 1) % fields.Count]];
                foreach (var f in assigned)
                    await c.ExecuteAsync("INSERT INTO panel_fields (member_id, field_id) VALUES (@memberId, @Id)", new { memberId, f.Id }, tx);
            }
        }
        else
            await c.ExecuteAsync("INSERT INTO survey_coordinators (survey_id, user_id) VALUES (@surveyId, @coordinator) ON CONFLICT DO NOTHING",
                new { surveyId, coordinator }, tx);

        var first = await c.QuerySingleOrDefaultAsync<(long Id, string Pseudonym)>(
            "SELECT id, pseudonym FROM panel_members WHERE survey_id = @surveyId AND revoked_at IS NULL ORDER BY id LIMIT 1", new { surveyId }, tx);
        string? link = null;
        if (first.Id != 0)
        {
            var secret = Secrets.New();
            await c.ExecuteAsync("UPDATE panel_members SET secret_hash = @hash, link_protected = @link, secret_issued_at = @now WHERE id = @Id",
                new { hash = Secrets.Hash(secret), link = vault.Protect(secret), now, first.Id }, tx);
            link = Links.Invitation("{base}", secret);
        }
        await tx.CommitAsync();
        notes.Add($"Sample survey:   {survey.Id} (survey {surveyId})");
        notes.Add($"Coordinator:     {DemoCoordinator} / {password}   (new password at every start)");
        if (link is not null)
        {
            notes.Add($"Expert link:     {link}   (expert {first.Pseudonym}; new link at every start)");
            notes.Add($"Expert API key:  {link[(link.LastIndexOf('/') + 1)..]}   (send as 'Authorization: Bearer ...')");
        }
        return notes;
    }
}
