using System.Net.Mail;
using System.Security.Claims;
using Dapper;
using Foresight.Core.LongFormat;
using Foresight.Core.Surveys;
using Foresight.Server.Plumbing;
using Microsoft.Data.Sqlite;

namespace Foresight.Server.Features.Experts;

/// <summary>The expert pool (专家库) shared by every survey, seen per coordinator (<see cref="ExpertAccess"/>): experts added one by one or from a CSV
/// file.</summary>
public sealed class ExpertService(Db db, TimeProvider clock, ExpertService.ImportBatches? batches = null)
{
    public static readonly string[] CsvColumns = ["name", "email", "organisation", "org_type", "region", "work", "expertise", "language"];

    public static bool IsEmail(string? s) =>
        !string.IsNullOrWhiteSpace(s) && s.Length <= 254 && MailAddress.TryCreate(s.Trim(), out var a) && a.Address == s.Trim() && s.Contains('.');

    /// <summary>The experts the caller may see (<see cref="ExpertAccess"/>), filtered by q (name, e-mail, organisation) or expertise.</summary>
    public async Task<List<ExpertView>> ListAsync(ClaimsPrincipal user, string? q, string? expertise)
    {
        await using var c = await db.OpenAsync();
        var rows = await c.QueryAsync<ExpertRow>($"""
            SELECT e.* FROM experts e
            WHERE {ExpertAccess.Visible}
              AND (@q IS NULL OR e.name LIKE @like OR e.email LIKE @like OR e.organisation LIKE @like)
              AND (@expertise IS NULL OR (';' || e.expertise || ';') LIKE @exp)
            ORDER BY e.name, e.id
            """, ExpertAccess.Parameters(user, new { q, like = $"%{q}%", expertise, exp = $"%;{expertise};%" }));
        return rows.Select(r => r.View).ToList();
    }

    /// <summary>One expert; <see cref="ExpertAccessFilter"/> has checked that the caller may see them.</summary>
    public async Task<Outcome<ExpertView>> GetAsync(long id)
    {
        await using var c = await db.OpenAsync();
        var row = await c.QuerySingleOrDefaultAsync<ExpertRow>("SELECT * FROM experts WHERE id = @id", new { id });
        return row is null ? Refusal.NotFound($"There is no expert {id} in your pool.") : row.View;
    }

    public async Task<Outcome<ExpertView>> AddAsync(ExpertInput body, ClaimsPrincipal user)
    {
        await using var w = await db.BeginWriteAsync();
        var (c, tx) = w;
        var email = body.Email.Trim().ToLowerInvariant();
        var existing = await c.ExecuteScalarAsync<long?>("SELECT id FROM experts WHERE email = @email", new { email }, tx);
        if (existing is { } other)
            return await ExpertAccess.OfAsync(c, tx, user, other) is ExpertAccess.Standing.Unknown
                ? Refusal.Conflict($"An expert with e-mail {email} is in the pool already, on surveys you do not coordinate. Add them to your panel by their " +
                "e-mail; their details stay as they are.")
                : Refusal.Conflict($"The pool has an expert with e-mail {email} already (expert {other}); update it with PUT /api/experts/{other}.");
        var id = await InsertAsync(c, tx, body, user.UserId());
        await Audit.LogAsync(c, tx, clock, user.UserId(), null, "expert.added", new { id });
        var view = (await c.QuerySingleAsync<ExpertRow>("SELECT * FROM experts WHERE id = @id", new { id }, tx)).View;
        await tx.CommitAsync();
        return view;
    }

    /// <summary>Changes an expert's details; <see cref="ExpertAccessFilter"/> has checked that the caller may.</summary>
    public async Task<Outcome<ExpertView>> UpdateAsync(long id, ExpertInput body, ClaimsPrincipal user)
    {
        await using var w = await db.BeginWriteAsync();
        var (c, tx) = w;
        var email = body.Email.Trim().ToLowerInvariant();
        if (await c.ExecuteScalarAsync<long?>("SELECT id FROM experts WHERE email = @email AND id <> @id", new { email, id }, tx) is { } other)
            return await ExpertAccess.OfAsync(c, tx, user, other) is ExpertAccess.Standing.Unknown
                ? Refusal.Conflict($"Another expert of the pool has e-mail {email} already.")
                : Refusal.Conflict($"Expert {other} has e-mail {email} already.");
        await c.ExecuteAsync("""
            UPDATE experts SET name = @Name, email = @email, organisation = @Organisation, org_type = @OrgType, region = @Region,
                work = @Work, expertise = @expertise, language = @language WHERE id = @id
            """, Params(body, id), tx);
        await AuditChangeAsync(c, tx, user, id);
        // Read back inside the transaction: after the commit the transaction can no longer be used.
        var view = (await c.QuerySingleAsync<ExpertRow>("SELECT * FROM experts WHERE id = @id", new { id }, tx)).View;
        await tx.CommitAsync();
        return view;
    }

    /// <summary>A change of an expert's details is logged once for the pool and once for every survey whose panel they sit on.</summary>
    async Task AuditChangeAsync(SqliteConnection c, SqliteTransaction tx, ClaimsPrincipal user, long id)
    {
        await Audit.LogAsync(c, tx, clock, user.UserId(), null, "expert.updated", new { id });
        foreach (var surveyId in await c.QueryAsync<long>("SELECT DISTINCT survey_id FROM panel_members WHERE expert_id = @id", new { id }, tx))
            await Audit.LogAsync(c, tx, clock, user.UserId(), surveyId, "panel.expert_updated", new { expert = id });
    }

    /// <summary>Adds and updates experts from a CSV file; a file with any bad row stores nothing.</summary>
    public async Task<Outcome<ImportResult>> ImportAsync(string text, string fileName, ClaimsPrincipal user)
    {
        var (inputs, errors) = ParseCsv(text);
        if (errors.Count > 0)
            return Refusal.BadRequest($"{fileName}: line {errors[0].Line}: {errors[0].Message}{(errors.Count > 1 ? $" (and {errors.Count - 1} more)" : "")}. " +
                "Nothing was stored.",
                errors.Select(e => (object)e));

        // Written in batches (issue 23): a file of 10,000s of experts in one transaction held the write gate, and so every
        // expert's answer save, for its whole length. Every row was checked above, so a file with a bad row still stores
        // nothing. A server that stops in the middle keeps the batches before; importing the file again completes it
        // (a row updates the expert of its e-mail).
        var batching = batches ?? ImportBatches.Default;
        int added = 0, updated = 0, next = 0;
        var ids = new List<long>();
        var kept = new List<LineError>();
        while (next < inputs.Count)
        {
            await using (var w = await db.BeginWriteAsync())
            {
                var (c, tx) = w;
                var watch = System.Diagnostics.Stopwatch.StartNew();
                for (int first = next; next < inputs.Count && (next == first || watch.Elapsed < batching.BatchTime); next++)
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
                        kept.Add(
                            new LineError(
                                line, $"an expert with e-mail {email} is in the pool already, on a survey you do not coordinate; their details were kept as " +
                                "they are (add them to your panel by e-mail)"));
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
                    await Audit.LogAsync(c, tx, clock, user.UserId(), null, "experts.imported", new { fileName, added, updated, kept = kept.Count });
                await tx.CommitAsync();
            }
            if (batching.AfterBatch is { } hook) await hook(next);
        }
        await using var r = await db.OpenAsync();
        // In chunks: SQLite takes at most 32,766 parameters in one statement.
        var views = new List<ExpertView>(ids.Count);
        foreach (var chunk in ids.Order().Chunk(10_000))
            views.AddRange((await r.QueryAsync<ExpertRow>("SELECT * FROM experts WHERE id IN @chunk ORDER BY id", new { chunk })).Select(e => e.View));
        return new ImportResult(added, updated, kept.Count, views, kept);
    }

    /// <summary>
    /// How <see cref="ImportAsync"/> writes: each batch one write transaction of at most <see cref="BatchTime"/>, so an
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

    object Params(ExpertInput e, long? id = null) => new
    {
        id,
        Name = e.Name.Trim(),
        email = e.Email.Trim().ToLowerInvariant(),
        e.Organisation, e.OrgType, e.Region, e.Work,
        expertise = string.Join(';', e.Expertise ?? []),
        language = Languages.Normalize(e.Language) ?? Languages.Chinese,
        now = Db.Iso(clock.GetUtcNow()),
    };

    Task<long> InsertAsync(SqliteConnection c, SqliteTransaction? tx, ExpertInput e, long? createdBy)
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
