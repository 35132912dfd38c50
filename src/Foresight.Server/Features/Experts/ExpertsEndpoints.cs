using System.Net.Mail;
using System.Security.Claims;
using Dapper;
using Foresight.Core.LongFormat;
using Foresight.Core.Surveys;
using Foresight.Server.Features.Surveys;
using Foresight.Server.Plumbing;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace Foresight.Server.Features.Experts;

public sealed record ExpertView(
    long Id, string Name, string Email, string? Organisation, string? OrgType, string? Region, string? Work,
    IReadOnlyList<string> Expertise, string Language, string CreatedAt);

public sealed record ExpertInput(
    string Name, string Email, string? Organisation = null, string? OrgType = null, string? Region = null, string? Work = null,
    IReadOnlyList<string>? Expertise = null, string? Language = null) : IValidatable
{
    public IEnumerable<string> Validate()
    {
        if (string.IsNullOrWhiteSpace(Name)) yield return "name is required";
        else if (Name.Length > 200) yield return "name is longer than 200 characters";
        if (!ExpertsEndpoints.IsEmail(Email)) yield return $"email '{Email}' is not an e-mail address";
        if (Language is not null && Languages.Normalize(Language) is null) yield return $"language must be zh-CN or en, not '{Language}'";
        foreach (var (name, value) in new[] { ("organisation", Organisation), ("org_type", OrgType), ("region", Region), ("work", Work) })
            if (value is { Length: > 200 }) yield return $"{name} is longer than 200 characters";
        if (Expertise is { Count: > 50 }) yield return "expertise lists more than 50 entries";
    }
}

/// <param name="Kept">rows naming an expert of the pool whose details the caller may not change: nothing of theirs was changed or shown</param>
public sealed record ImportResult(int Added, int Updated, int Kept, IReadOnlyList<ExpertView> Experts, IReadOnlyList<LineError> KeptRows);

public sealed record LineError(int Line, string Message);

/// <summary>The expert pool (专家库) shared by every survey, seen per coordinator (<see cref="ExpertAccess"/>): experts added one by one or from a CSV file.</summary>
public static class ExpertsEndpoints
{
    public static readonly string[] CsvColumns = ["name", "email", "organisation", "org_type", "region", "work", "expertise", "language"];

    public static void MapExperts(this IEndpointRouteBuilder app)
    {
        long maxImport = app.ServiceProvider.GetRequiredService<IOptions<ForesightOptions>>().Value.MaxImportBytes;
        var group = app.MapGroup("/api/experts").WithTags("Experts").RequireAuthorization(Policies.Coordinator);
        group.MapGet("/", List).WithSummary("The experts you may see (an admin: all; a coordinator: those you added and those on your surveys' panels); filter with q (name, e-mail, organisation) or expertise");
        group.MapGet("/{id:long}", Get).AddEndpointFilter(new ExpertAccessFilter(ExpertAccess.Standing.Visible))
            .WithSummary("One expert you may see; 404 for any other");
        group.MapPost("/", Add).Validate<ExpertInput>();
        group.MapPut("/{id:long}", Update).AddEndpointFilter(new ExpertAccessFilter(ExpertAccess.Standing.Changeable)).Validate<ExpertInput>()
            .WithSummary("Change an expert's details: an admin, or a coordinator of every survey whose panel the expert sits on (403 otherwise)");
        group.MapPost("/import", Import).WithMetadata(new BodyLimit(maxImport)).Accepts<string>("text/csv", "multipart/form-data")
            .WithSummary($"Add or update experts from CSV with the header {string.Join(",", CsvColumns)} (name and email required; expertise separated by ';'). A file with any bad row stores nothing. A row naming an expert you may not change is kept as it is (kept_rows).");
    }

    public static bool IsEmail(string? s) =>
        !string.IsNullOrWhiteSpace(s) && s.Length <= 254 && MailAddress.TryCreate(s.Trim(), out var a) && a.Address == s.Trim() && s.Contains('.');

    /// <summary>The experts the caller may see (<see cref="ExpertAccess"/>), filtered by q (name, e-mail, organisation) or expertise.</summary>
    internal static async Task<Ok<List<ExpertView>>> List(ClaimsPrincipal user, Db db, string? q, string? expertise)
    {
        await using var c = await db.OpenAsync();
        var rows = await c.QueryAsync<ExpertRow>($"""
            SELECT e.* FROM experts e
            WHERE {ExpertAccess.Visible}
              AND (@q IS NULL OR e.name LIKE @like OR e.email LIKE @like OR e.organisation LIKE @like)
              AND (@expertise IS NULL OR (';' || e.expertise || ';') LIKE @exp)
            ORDER BY e.name, e.id
            """, ExpertAccess.Parameters(user, new { q, like = $"%{q}%", expertise, exp = $"%;{expertise};%" }));
        return TypedResults.Ok(rows.Select(r => r.View).ToList());
    }

    /// <summary>One expert; <see cref="ExpertAccessFilter"/> has checked that the caller may see them.</summary>
    internal static async Task<Results<Ok<ExpertView>, ProblemHttpResult>> Get(long id, Db db)
    {
        await using var c = await db.OpenAsync();
        var row = await c.QuerySingleOrDefaultAsync<ExpertRow>("SELECT * FROM experts WHERE id = @id", new { id });
        return row is null ? Problems.NotFound($"There is no expert {id} in your pool.") : TypedResults.Ok(row.View);
    }

    internal static async Task<Results<Created<ExpertView>, ProblemHttpResult>> Add(ExpertInput body, ClaimsPrincipal user, Db db)
    {
        await using var w = await db.BeginWriteAsync();
        var (c, tx) = w;
        var email = body.Email.Trim().ToLowerInvariant();
        var existing = await c.ExecuteScalarAsync<long?>("SELECT id FROM experts WHERE email = @email", new { email }, tx);
        if (existing is { } other)
            return await ExpertAccess.OfAsync(c, tx, user, other) is ExpertAccess.Standing.Unknown
                ? Problems.Conflict($"An expert with e-mail {email} is in the pool already, on surveys you do not coordinate. Add them to your panel by their e-mail; their details stay as they are.")
                : Problems.Conflict($"The pool has an expert with e-mail {email} already (expert {other}); update it with PUT /api/experts/{other}.");
        var id = await InsertAsync(c, tx, body, user.UserId());
        await Audit.LogAsync(c, tx, user.UserId(), null, "expert.added", new { id });
        var view = (await c.QuerySingleAsync<ExpertRow>("SELECT * FROM experts WHERE id = @id", new { id }, tx)).View;
        await tx.CommitAsync();
        return TypedResults.Created($"/api/experts/{id}", view);
    }

    /// <summary>Changes an expert's details; <see cref="ExpertAccessFilter"/> has checked that the caller may.</summary>
    internal static async Task<Results<Ok<ExpertView>, ProblemHttpResult>> Update(long id, ExpertInput body, ClaimsPrincipal user, Db db)
    {
        await using var w = await db.BeginWriteAsync();
        var (c, tx) = w;
        var email = body.Email.Trim().ToLowerInvariant();
        if (await c.ExecuteScalarAsync<long?>("SELECT id FROM experts WHERE email = @email AND id <> @id", new { email, id }, tx) is { } other)
            return await ExpertAccess.OfAsync(c, tx, user, other) is ExpertAccess.Standing.Unknown
                ? Problems.Conflict($"Another expert of the pool has e-mail {email} already.")
                : Problems.Conflict($"Expert {other} has e-mail {email} already.");
        await c.ExecuteAsync("""
            UPDATE experts SET name = @Name, email = @email, organisation = @Organisation, org_type = @OrgType, region = @Region,
                work = @Work, expertise = @expertise, language = @language WHERE id = @id
            """, Params(body, id), tx);
        await AuditChangeAsync(c, tx, user, id);
        // Read back inside the transaction: after the commit the transaction can no longer be used.
        var view = (await c.QuerySingleAsync<ExpertRow>("SELECT * FROM experts WHERE id = @id", new { id }, tx)).View;
        await tx.CommitAsync();
        return TypedResults.Ok(view);
    }

    /// <summary>A change of an expert's details is logged once for the pool and once for every survey whose panel they sit on.</summary>
    static async Task AuditChangeAsync(SqliteConnection c, SqliteTransaction tx, ClaimsPrincipal user, long id)
    {
        await Audit.LogAsync(c, tx, user.UserId(), null, "expert.updated", new { id });
        foreach (var surveyId in await c.QueryAsync<long>("SELECT DISTINCT survey_id FROM panel_members WHERE expert_id = @id", new { id }, tx))
            await Audit.LogAsync(c, tx, user.UserId(), surveyId, "panel.expert_updated", new { expert = id });
    }

    internal static async Task<Results<Ok<ImportResult>, ProblemHttpResult>> Import(HttpRequest request, ClaimsPrincipal user, Db db)
    {
        var (text, fileName, error) = await SurveysEndpoints.ReadFileAsync(request, "experts.csv");
        if (error is not null) return error;
        var (inputs, errors) = ParseCsv(text!);
        if (errors.Count > 0)
            return Problems.BadRequest($"{fileName}: line {errors[0].Line}: {errors[0].Message}{(errors.Count > 1 ? $" (and {errors.Count - 1} more)" : "")}. Nothing was stored.",
                errors.Select(e => (object)e));

        // Written in batches (issue 23): a file of 10,000s of experts in one transaction held the write gate, and so every
        // expert's answer save, for its whole length. Every row was checked above, so a file with a bad row still stores
        // nothing. A server that stops in the middle keeps the batches before; importing the file again completes it
        // (a row updates the expert of its e-mail).
        var batches = request.HttpContext.RequestServices.GetService<ImportBatches>() ?? ImportBatches.Default;
        int added = 0, updated = 0, next = 0;
        var ids = new List<long>();
        var kept = new List<LineError>();
        while (next < inputs.Count)
        {
            await using (var w = await db.BeginWriteAsync())
            {
                var (c, tx) = w;
                var clock = System.Diagnostics.Stopwatch.StartNew();
                for (int first = next; next < inputs.Count && (next == first || clock.Elapsed < batches.BatchTime); next++)
                {
                    var (line, input) = inputs[next];
                    var email = input.Email.Trim().ToLowerInvariant();
                    if (await c.ExecuteScalarAsync<long?>("SELECT id FROM experts WHERE email = @email", new { email }, tx) is not { } id)
                    {
                        ids.Add(await InsertAsync(c, tx, input, user.UserId()));
                        added++;
                        continue;
                    }
                    if (await ExpertAccess.OfAsync(c, tx, user, id) is not ExpertAccess.Standing.Changeable)
                    {
                        // Neither changed nor shown: the row's expert belongs to other surveys too (or only to them).
                        kept.Add(new LineError(line, $"an expert with e-mail {email} is in the pool already, on a survey you do not coordinate; their details were kept as they are (add them to your panel by e-mail)"));
                        continue;
                    }
                    await c.ExecuteAsync("""
                        UPDATE experts SET name = @Name, organisation = @Organisation, org_type = @OrgType, region = @Region, work = @Work,
                            expertise = @expertise, language = @language WHERE id = @id
                        """, Params(input, id), tx);
                    await AuditChangeAsync(c, tx, user, id);
                    ids.Add(id);
                    updated++;
                }
                // The import's own entry goes with its last batch: it is logged once the whole file is stored.
                if (next == inputs.Count)
                    await Audit.LogAsync(c, tx, user.UserId(), null, "experts.imported", new { fileName, added, updated, kept = kept.Count });
                await tx.CommitAsync();
            }
            if (batches.AfterBatch is { } hook) await hook(next);
        }
        await using var r = await db.OpenAsync();
        // In chunks: SQLite takes at most 32,766 parameters in one statement.
        var views = new List<ExpertView>(ids.Count);
        foreach (var chunk in ids.Order().Chunk(10_000))
            views.AddRange((await r.QueryAsync<ExpertRow>("SELECT * FROM experts WHERE id IN @chunk ORDER BY id", new { chunk })).Select(e => e.View));
        return TypedResults.Ok(new ImportResult(added, updated, kept.Count, views, kept));
    }

    /// <summary>
    /// How <see cref="Import"/> writes: each batch one write transaction of at most <see cref="BatchTime"/>, so an
    /// answer save waits for one batch at most. The defaults, unless a test registers its own.
    /// </summary>
    public sealed class ImportBatches
    {
        public static readonly ImportBatches Default = new();
        public TimeSpan BatchTime { get; init; } = TimeSpan.FromMilliseconds(50);
        /// <summary>For tests: awaited after each committed batch (rows done), with the write gate released.</summary>
        public Func<int, Task>? AfterBatch { get; init; }
    }

    /// <summary>Reads and checks every row; returns the experts, or every problem with its line.</summary>
    public static (List<(int Line, ExpertInput Expert)> Experts, List<LineError> Errors) ParseCsv(string text)
    {
        var experts = new List<(int, ExpertInput)>();
        var errors = new List<LineError>();
        try
        {
            using var records = Csv.Read(new StringReader(text)).GetEnumerator();
            if (!records.MoveNext()) return (experts, [new LineError(1, "the file is empty")]);
            var (headerLine, header) = records.Current;
            var names = header.Select(h => h.Trim().ToLowerInvariant()).ToArray();
            foreach (var unknown in names.Where(n => !CsvColumns.Contains(n)))
                errors.Add(new LineError(headerLine, $"unknown column '{unknown}'; the columns are {string.Join(",", CsvColumns)}"));
            foreach (var required in new[] { "name", "email" }.Where(r => !names.Contains(r)))
                errors.Add(new LineError(headerLine, $"the header has no '{required}' column"));
            foreach (var dup in names.GroupBy(n => n).Where(g => g.Count() > 1))
                errors.Add(new LineError(headerLine, $"column '{dup.Key}' appears twice"));
            if (errors.Count > 0) return (experts, errors);

            var seen = new Dictionary<string, int>();
            while (records.MoveNext())
            {
                var (line, fields) = records.Current;
                if (fields.Length != names.Length)
                {
                    errors.Add(new LineError(line, $"the row has {fields.Length} columns; the header has {names.Length}"));
                    continue;
                }
                string? Col(string n) { int i = Array.IndexOf(names, n); return i < 0 || fields[i].Trim().Length == 0 ? null : fields[i].Trim(); }
                var input = new ExpertInput(Col("name") ?? "", Col("email") ?? "", Col("organisation"), Col("org_type"), Col("region"), Col("work"),
                    Col("expertise")?.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries), Col("language"));
                foreach (var e in input.Validate()) errors.Add(new LineError(line, e));
                var email = input.Email.Trim().ToLowerInvariant();
                if (email.Length > 0 && !seen.TryAdd(email, line)) errors.Add(new LineError(line, $"e-mail {email} is also on line {seen[email]}"));
                experts.Add((line, input));
            }
        }
        catch (CsvFormatException e)
        {
            errors.Add(new LineError(e.Line, e.Reason));
        }
        if (experts.Count == 0 && errors.Count == 0) errors.Add(new LineError(1, "the file has a header but no experts"));
        return (experts, errors);
    }

    static object Params(ExpertInput e, long? id = null) => new
    {
        id,
        Name = e.Name.Trim(),
        email = e.Email.Trim().ToLowerInvariant(),
        e.Organisation, e.OrgType, e.Region, e.Work,
        expertise = string.Join(';', e.Expertise ?? []),
        language = Languages.Normalize(e.Language) ?? Languages.Chinese,
        now = Db.Iso(DateTimeOffset.UtcNow),
    };

    static Task<long> InsertAsync(SqliteConnection c, SqliteTransaction? tx, ExpertInput e, long? createdBy)
    {
        var p = new DynamicParameters(Params(e));
        p.Add("createdBy", createdBy);
        return c.ExecuteScalarAsync<long>("""
            INSERT INTO experts (name, email, organisation, org_type, region, work, expertise, language, created_at, created_by)
            VALUES (@Name, @email, @Organisation, @OrgType, @Region, @Work, @expertise, @language, @now, @createdBy)
            RETURNING id
            """, p, tx);
    }

    public sealed class ExpertRow
    {
        public long Id { get; init; }
        public string Name { get; init; } = "";
        public string Email { get; init; } = "";
        public string? Organisation { get; init; }
        public string? OrgType { get; init; }
        public string? Region { get; init; }
        public string? Work { get; init; }
        public string Expertise { get; init; } = "";
        public string Language { get; init; } = "";
        public string CreatedAt { get; init; } = "";
        public ExpertView View => new(Id, Name, Email, Organisation, OrgType, Region, Work,
            Expertise.Split(';', StringSplitOptions.RemoveEmptyEntries), Language, CreatedAt);
    }
}
