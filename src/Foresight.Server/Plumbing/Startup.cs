using Dapper;
using Foresight.Core.Surveys;
using Foresight.Server.Features.Accounts;
using Foresight.Server.Features.Panel;
using Foresight.Server.Features.Surveys;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;

namespace Foresight.Server.Plumbing;

/// <summary>What start-up printed: sign-in details that exist nowhere else (only their hashes are stored).</summary>
public sealed class StartupNotes
{
    public List<string> Lines { get; } = [];
}

/// <summary>
/// Start-up work: the schema, the first admin account, and (when configured) a sample survey with a demo panel,
/// so that a fresh start in an empty directory gives a working system. Sign-in details are printed.
/// </summary>
public static class Startup
{
    public const string DemoCoordinator = "coordinator@foresight.local";

    /// <summary>
    /// Checks the settings registered with ValidateOnStart before any work (the database is opened before the host
    /// starts), and prints each one that is wrong, with its name, where an operator reads it: on the console.
    /// </summary>
    /// <returns>false when the server must not start</returns>
    public static bool SettingsAreValid(WebApplication app)
    {
        IEnumerable<string> failures;
        try
        {
            app.Services.GetRequiredService<IStartupValidator>().Validate();
            return true;
        }
        catch (OptionsValidationException e) { failures = e.Failures; }
        catch (AggregateException e) when (e.InnerExceptions.All(x => x is OptionsValidationException))
        {
            failures = e.InnerExceptions.Cast<OptionsValidationException>().SelectMany(x => x.Failures);
        }
        Console.Error.WriteLine("Foresight did not start: a setting is not valid.");
        foreach (var failure in failures) Console.Error.WriteLine("  " + failure);
        Console.Error.WriteLine("Correct it in appsettings.json, in the environment (Foresight:Synchronous is Foresight__Synchronous there) " +
            "or on the command line (--Foresight:Synchronous=FULL), and start again.");
        return false;
    }

    public static async Task PrepareAsync(WebApplication app)
    {
        var db = app.Services.GetRequiredService<Db>();
        var options = app.Services.GetRequiredService<IOptions<ForesightOptions>>().Value;
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Foresight.Startup");
        DataProtectionSetup.LogKeyRing(app.Services, logger);
        await Migrator.MigrateAsync(db, logger);
        var notes = app.Services.GetRequiredService<StartupNotes>().Lines;
        await EnsureAdminAsync(db, options, logger, notes);
        if (!string.IsNullOrEmpty(options.SampleSurvey))
            await LoadSampleAsync(db, options, app.Environment, notes, app.Services.GetRequiredService<LinkVault>());
        if (notes.Count > 0)
            app.Lifetime.ApplicationStarted.Register(() =>
            {
                var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
                var baseUrl = options.PublicBase ?? (addresses.FirstOrDefault() ?? "http://localhost:5000").TrimEnd('/');
                for (int i = 0; i < notes.Count; i++) notes[i] = notes[i].Replace("{base}", baseUrl);
                Console.WriteLine();
                Console.WriteLine("Foresight is running.");
                Console.WriteLine($"  Console:         {baseUrl}/console   (coordinators; stakeholders: {baseUrl}/reports)");
                Console.WriteLine($"  API reference:   {baseUrl}/scalar");
                Console.WriteLine($"  OpenAPI:         {baseUrl}/openapi/v1.json");
                Console.WriteLine($"  Database:        {db.Path}");
                foreach (var note in notes) Console.WriteLine("  " + note);
                Console.WriteLine();
            });
    }

    static async Task EnsureAdminAsync(Db db, ForesightOptions options, ILogger logger, List<string> notes)
    {
        await using var w = await db.BeginWriteAsync();
        var (c, tx) = w;
        if (await c.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM users", null, tx) > 0) return;
        var password = string.IsNullOrEmpty(options.Admin.Password) ? Secrets.NewPassword() : options.Admin.Password;
        await c.ExecuteAsync("INSERT INTO users (email, name, role, password_hash, created_at) VALUES (@email, @name, 'admin', @hash, @now)",
            new { email = options.Admin.Email.ToLowerInvariant(), name = options.Admin.Name, hash = AccountsEndpoints.HashPassword(password), now = Db.Iso(DateTimeOffset.UtcNow) }, tx);
        logger.LogInformation("Created the admin account {Email}", options.Admin.Email);
        notes.Add(string.IsNullOrEmpty(options.Admin.Password)
            ? $"Admin sign-in:   {options.Admin.Email} / {password}   (one-time password, shown only now)"
            : $"Admin sign-in:   {options.Admin.Email} (password from configuration)");
        await tx.CommitAsync();
    }

    static readonly string[] OrgTypes = ["ENT", "UNI", "INST", "GOV", "ENT_LEAD", "ENT_PRIV", "NRDI", "THINK"];
    static readonly string[] Regions = ["JJJ", "YRD", "GBA", "OTHER_CN", "CN_EAST", "CN_OTHER"];

    /// <summary>
    /// Imports the sample survey if it is not there, with a demo coordinator and a panel of demo experts. At every start
    /// the demo coordinator gets a fresh password and one demo expert a fresh link, both printed (only hashes are stored).
    /// </summary>
    static async Task LoadSampleAsync(Db db, ForesightOptions options, IHostEnvironment env, List<string> notes, LinkVault vault)
    {
        var path = Path.GetFullPath(options.SampleSurvey!, env.ContentRootPath);
        var yaml = await File.ReadAllTextAsync(path);
        var parsed = SurveyFile.Parse(yaml, Path.GetFileName(path));
        if (!parsed.Ok) throw new InvalidOperationException($"sample survey {path} is not valid: {string.Join("; ", parsed.Errors)}");
        var survey = parsed.Survey!;

        await using var w = await db.BeginWriteAsync();
        var (c, tx) = w;
        var now = Db.Iso(DateTimeOffset.UtcNow);
        var password = Secrets.NewPassword();
        var coordinator = await c.ExecuteScalarAsync<long?>("SELECT id FROM users WHERE email = @DemoCoordinator", new { DemoCoordinator }, tx);
        if (coordinator is null)
            coordinator = await c.ExecuteScalarAsync<long>("""
                INSERT INTO users (email, name, role, password_hash, created_at) VALUES (@DemoCoordinator, 'Demo coordinator', 'coordinator', @hash, @now) RETURNING id
                """, new { DemoCoordinator, hash = AccountsEndpoints.HashPassword(password), now }, tx);
        else
            await c.ExecuteAsync("UPDATE users SET password_hash = @hash, disabled_at = NULL WHERE id = @coordinator", new { hash = AccountsEndpoints.HashPassword(password), coordinator }, tx);

        var surveyId = await c.ExecuteScalarAsync<long?>("SELECT id FROM surveys WHERE slug = @Id", new { survey.Id }, tx);
        if (surveyId is null)
        {
            surveyId = await SurveyStore.InsertAsync(c, tx, survey, yaml, Path.GetFileName(path), coordinator);
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
                var memberId = await PanelEndpoints.InsertMemberAsync(c, tx, surveyId.Value, expertId, Secrets.New(), vault);
                // Each demo expert answers one field (two in a survey with few fields), as in a national panel.
                var assigned = fields.Count <= 2 ? fields : [fields[(i - 1) % fields.Count]];
                foreach (var f in assigned)
                    await c.ExecuteAsync("INSERT INTO panel_fields (member_id, field_id) VALUES (@memberId, @Id)", new { memberId, f.Id }, tx);
            }
        }
        else
            await c.ExecuteAsync("INSERT INTO survey_coordinators (survey_id, user_id) VALUES (@surveyId, @coordinator) ON CONFLICT DO NOTHING", new { surveyId, coordinator }, tx);

        var first = await c.QuerySingleOrDefaultAsync<(long Id, string Pseudonym)>(
            "SELECT id, pseudonym FROM panel_members WHERE survey_id = @surveyId AND revoked_at IS NULL ORDER BY id LIMIT 1", new { surveyId }, tx);
        string? link = null;
        if (first.Id != 0)
        {
            var secret = Secrets.New();
            await c.ExecuteAsync("UPDATE panel_members SET secret_hash = @hash, link_protected = @link, secret_issued_at = @now WHERE id = @Id",
                new { hash = Secrets.Hash(secret), link = vault.Protect(secret), now, first.Id }, tx);
            link = PanelEndpoints.Link("{base}", secret);
        }
        await tx.CommitAsync();
        notes.Add($"Sample survey:   {survey.Id} (survey {surveyId})");
        notes.Add($"Coordinator:     {DemoCoordinator} / {password}   (new password at every start)");
        if (link is not null)
        {
            notes.Add($"Expert link:     {link}   (expert {first.Pseudonym}; new link at every start)");
            notes.Add($"Expert API key:  {link[(link.LastIndexOf('/') + 1)..]}   (send as 'Authorization: Bearer ...')");
        }
    }
}
