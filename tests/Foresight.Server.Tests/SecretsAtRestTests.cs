using System.Net;
using System.Text;
using System.Xml.Linq;
using Dapper;
using Foresight.Server.Features.Mail;
using Foresight.Server.Plumbing;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using MimeKit;
using Xunit.Abstractions;

namespace Foresight.Server.Tests;

/// <summary>
/// What a copy of the data folder gives away: no invitation link without the master key, which is kept elsewhere;
/// with it the links still go out after a restart. The database and the keys are readable by their owner only.
/// </summary>
public sealed class SecretsAtRestTests(ITestOutputHelper output) : IDisposable
{
    const UnixFileMode OwnerFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    const UnixFileMode OwnerFolder = OwnerFile | UnixFileMode.UserExecute;
    const UnixFileMode WorldReadable = OwnerFile | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
    const string Purpose = "Foresight.Links.v1"; // LinkVault's

    readonly string _dir = Directory.CreateTempSubdirectory("foresight-secrets").FullName;
    string Data => Path.Combine(_dir, "data");
    string Database => Path.Combine(Data, "foresight.db");

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }

    static SqliteConnection Open(string database) =>
        new(new SqliteConnectionStringBuilder { DataSource = database, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());

    /// <summary>Every link the database keeps encrypted for e-mails: the panel's personal links and the outbox's links.</summary>
    static List<string> StoredLinks(string database)
    {
        using var c = Open(database);
        return c.Query<string>("""
            SELECT link_protected FROM panel_members WHERE link_protected IS NOT NULL
            UNION ALL SELECT link_protected FROM outbox WHERE link_protected IS NOT NULL
            """).ToList();
    }

    static string[] KeyFiles(string data) => Directory.GetFiles(Path.Combine(data, "keys"), "key-*.xml");

    /// <summary>A data-protection key in the clear: its masterKey element is there to read.</summary>
    static bool HoldsKeyInTheClear(string keyFile) => XElement.Load(keyFile).Descendants().Any(e => e.Name.LocalName == "masterKey");

    /// <summary>What someone with the keys folder alone (and ASP.NET Core) reads back from the stored links; null where nothing.</summary>
    static List<string?> ReadWithTheFolderAlone(string keys, IEnumerable<string> stored)
    {
        var services = new ServiceCollection();
        services.AddDataProtection().SetApplicationName("Foresight").PersistKeysToFileSystem(new DirectoryInfo(keys));
        using var provider = services.BuildServiceProvider();
        var protector = provider.GetDataProtector(Purpose);
        return stored.Select(s =>
        {
            try { return protector.Unprotect(s); }
            catch (System.Security.Cryptography.CryptographicException) { return null; }
        }).ToList();
    }

    static void CopyFolder(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from)) File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        foreach (var folder in Directory.GetDirectories(from)) CopyFolder(folder, Path.Combine(to, Path.GetFileName(folder)));
    }

    /// <summary>The exception that stopped the server's start, with its inner ones' messages.</summary>
    static string StartFailure(ForesightFactory app)
    {
        var e = Record.Exception(() => app.Services);
        Assert.True(e is not null, "the server started");
        return e.ToString();
    }

    static string LinkIn(MimeMessage m) =>
        (m.TextBody ?? "").Split('\n').Select(l => l.Trim()).Single(l => l.StartsWith("http://foresight.test/", StringComparison.Ordinal));

    [Fact]
    public async Task A_copy_of_the_data_folder_gives_back_no_link_and_with_the_master_key_the_links_are_sent_after_a_restart()
    {
        // A panel with personal links; invitations and a thank-you with a report's link wait in the outbox (no mail server yet).
        QuickStudy study;
        var reportLink = "http://foresight.test/r/" + Secrets.New();
        using (var first = new ForesightFactory().With("Foresight:Database", Database))
        {
            study = await QuickStudy.CreateAsync(first, experts: 3);
            await study.AnswerAsync(0, "Q-T01", QuickStudy.Answer(6));
            long surveyId, roundId;
            await using (var c = Open(Database))
                (surveyId, roundId) = await c.QuerySingleAsync<(long, long)>("SELECT survey_id, id FROM rounds");
            var outbox = first.Services.GetRequiredService<Outbox>();
            await outbox.InviteAsync(roundId); // a job queues them too; each is queued once either way
            Assert.Equal(1, await outbox.ThankAsync(surveyId, 1, reportLink));
            if (!OperatingSystem.IsWindows()) Assert.Equal(OwnerFolder, File.GetUnixFileMode(Data)); // the server made the folder: its own
        }

        var copy = Path.Combine(_dir, "copy");
        CopyFolder(Data, copy);
        var stored = StoredLinks(Path.Combine(copy, "foresight.db"));
        Assert.Equal(3 + 1, stored.Count);
        var secrets = study.Secrets.Append(reportLink[(reportLink.LastIndexOf('/') + 1)..]).ToList();
        foreach (var file in Directory.GetFiles(copy, "*", SearchOption.AllDirectories))
        {
            var bytes = await File.ReadAllBytesAsync(file);
            foreach (var secret in secrets)
                Assert.False(bytes.AsSpan().IndexOf(Encoding.UTF8.GetBytes(secret)) >= 0, $"{Path.GetRelativePath(copy, file)} holds a secret in the clear");
        }
        // The keys are there, encrypted: data protection with the copied folder alone reads back none of the links.
        Assert.NotEmpty(KeyFiles(copy));
        Assert.All(KeyFiles(copy), f => Assert.False(HoldsKeyInTheClear(f), $"{f} holds a data-protection key in the clear:\n{File.ReadAllText(f)}"));
        Assert.All(ReadWithTheFolderAlone(Path.Combine(copy, "keys"), stored), Assert.Null);

        // The server again on its folder, with the master key (now from a file): the e-mails go out with working links.
        await using var sink = new SmtpSink();
        var keyFile = Path.Combine(_dir, "master.key");
        await File.WriteAllTextAsync(keyFile, ForesightFactory.MasterKey + "\n");
        using var second = new ForesightFactory().With("Foresight:Database", Database)
            .With("Foresight:MasterKey", null).With("Foresight:MasterKeyFile", keyFile)
            .With("Foresight:Mail:Host", "127.0.0.1").With("Foresight:Mail:Port", sink.Port.ToString())
            .With("Foresight:Mail:Security", "None").With("Foresight:Mail:From", "Foresight <foresight@test.local>");
        await second.Anonymous().GetAsync("/health/live");
        var invitations = await sink.WaitAsync(m => (m.Subject ?? "").StartsWith("Invitation") || (m.Subject ?? "").StartsWith("邀请"), 3, "invitations");
        Assert.Equal(study.Secrets.Select(s => $"http://foresight.test/x/{s}").Order(), invitations.Select(LinkIn).Order());
        var thanks = await sink.WaitAsync(m => (m.Subject ?? "").StartsWith("Thank you") || (m.Subject ?? "").StartsWith("感谢"), 1, "thank-you");
        Assert.Equal(reportLink, LinkIn(thanks.Single()));
        var signIn = await second.Anonymous().GetAsync(new Uri(LinkIn(invitations[0])).PathAndQuery);
        Assert.Equal(HttpStatusCode.Redirect, signIn.StatusCode);
        Assert.StartsWith("/survey/", signIn.Headers.Location?.ToString());
    }

    [Fact]
    public async Task The_database_its_wal_and_shm_files_and_the_keys_are_readable_by_their_owner_only()
    {
        if (OperatingSystem.IsWindows()) return; // no Unix modes
        // As an earlier version left them: the database and the keys folder readable by everyone.
        Directory.CreateDirectory(Path.Combine(Data, "keys"));
        File.SetUnixFileMode(Path.Combine(Data, "keys"), WorldReadable | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
        await File.WriteAllBytesAsync(Database, []); // an empty file is an empty SQLite database
        File.SetUnixFileMode(Database, WorldReadable);

        using var app = new ForesightFactory().With("Foresight:Database", Database);
        await QuickStudy.CreateAsync(app, experts: 2); // writes, and makes a data-protection key for the links
        // The server holds the database open: its WAL and shared-memory files are there.
        foreach (var file in new[] { Database, Database + "-wal", Database + "-shm" })
            Assert.Equal(OwnerFile, File.GetUnixFileMode(file));
        Assert.Equal(OwnerFolder, File.GetUnixFileMode(Path.Combine(Data, "keys")));
        Assert.NotEmpty(KeyFiles(Data));
        foreach (var file in KeyFiles(Data)) Assert.Equal(OwnerFile, File.GetUnixFileMode(file));
    }

    [Fact]
    public async Task A_key_an_earlier_version_stored_in_the_clear_is_encrypted_at_start_and_still_reads_its_links()
    {
        // An earlier version: data protection without an encryptor, its key written in the clear.
        var keys = Path.Combine(Data, "keys");
        string earlier;
        var services = new ServiceCollection();
        services.AddDataProtection().SetApplicationName("Foresight").PersistKeysToFileSystem(new DirectoryInfo(keys));
        using (var provider = services.BuildServiceProvider())
            earlier = provider.GetDataProtector(Purpose).Protect("a-link-from-before");
        var keyFile = Assert.Single(KeyFiles(Data));
        Assert.True(HoldsKeyInTheClear(keyFile));

        using var app = new ForesightFactory().With("Foresight:Database", Database);
        Assert.Equal("a-link-from-before", app.Services.GetRequiredService<LinkVault>().Unprotect(earlier));
        Assert.Equal([keyFile], KeyFiles(Data)); // the same key, no new one
        Assert.False(HoldsKeyInTheClear(keyFile), File.ReadAllText(keyFile));
        Assert.Equal([null], ReadWithTheFolderAlone(keys, [earlier]));
    }

    [Fact]
    public async Task Another_master_key_stops_the_start_naming_the_key_file_and_the_settings()
    {
        using (var first = new ForesightFactory().With("Foresight:Database", Database))
            await QuickStudy.CreateAsync(first, experts: 1, open: false); // a personal link, so a data-protection key
        var before = KeyFiles(Data).ToDictionary(f => f, File.ReadAllText);

        using var second = new ForesightFactory().With("Foresight:Database", Database)
            .With("Foresight:MasterKey", Convert.ToBase64String(new byte[32]));
        var failure = StartFailure(second);
        output.WriteLine(failure);
        Assert.Contains(before.Keys.Single(), failure);
        Assert.Contains("Foresight:MasterKey", failure);
        Assert.Contains("Foresight:MasterKeyFile", failure);
        // Nothing was changed or added: with the right key the folder is as it was.
        Assert.Equal(before, KeyFiles(Data).ToDictionary(f => f, File.ReadAllText));
    }

    [Theory]
    [InlineData("Foresight:MasterKey", "hunter2-is-no-key!", "Foresight:MasterKey is not a master key", "not base64")]
    [InlineData("Foresight:MasterKey", "AAECAwQFBgcICQoLDA0ODw==", "Foresight:MasterKey is not a master key", "holds 16 bytes")]
    [InlineData("Foresight:MasterKeyFile", "/nonexistent/foresight-master.key", "Foresight:MasterKeyFile", "/nonexistent/foresight-master.key cannot be read")]
    public void A_master_key_setting_that_cannot_be_used_stops_the_start_naming_the_setting(string setting, string value, string names, string why)
    {
        using var app = new ForesightFactory().With("Foresight:Database", Database).With("Foresight:MasterKey", null).With(setting, value);
        var failure = StartFailure(app);
        output.WriteLine(failure);
        Assert.Contains(names, failure);
        Assert.Contains(why, failure);
        Assert.Contains("openssl rand -base64 32", failure);
        if (setting == "Foresight:MasterKey") Assert.DoesNotContain(value, failure); // a key is never printed
    }

    [Fact]
    public async Task MasterKey_and_MasterKeyFile_together_stop_the_start()
    {
        var keyFile = Path.Combine(_dir, "master.key");
        await File.WriteAllTextAsync(keyFile, ForesightFactory.MasterKey);
        using var app = new ForesightFactory().With("Foresight:Database", Database).With("Foresight:MasterKeyFile", keyFile);
        Assert.Contains("Give one of Foresight:MasterKey and Foresight:MasterKeyFile, not both", StartFailure(app));
    }

    [Fact]
    public void RequireMasterKey_without_a_master_key_stops_the_start_saying_how_to_make_one()
    {
        using var app = new ForesightFactory().With("Foresight:Database", Database)
            .With("Foresight:MasterKey", null).With("Foresight:RequireMasterKey", "true");
        var failure = StartFailure(app);
        output.WriteLine(failure);
        foreach (var text in new[] { "Foresight:RequireMasterKey", "Foresight:MasterKey", "Foresight__MasterKey", "Foresight:MasterKeyFile",
            "openssl rand -base64 32" })
            Assert.Contains(text, failure);
        Assert.False(File.Exists(Database), "the server went on and made the database");
    }

    [Fact]
    public async Task Without_a_master_key_the_embedded_default_generates_one_outside_the_data_folder_and_keeps_using_it()
    {
        // The server as a process, with its own config directory (XDG_CONFIG_HOME): the generated key goes there.
        var config = Path.Combine(_dir, "config");
        var environment = new Dictionary<string, string?> { ["Foresight__MasterKey"] = null, ["XDG_CONFIG_HOME"] = config };
        string[] settings = [$"--Foresight:SampleSurvey={Path.Combine(Repository.Root(), "surveys", "quick-start.yaml")}", "--Foresight:SampleExperts=2"];

        async Task<(ServerProcess Server, string Link)> StartAsync()
        {
            var link = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
            var server = await ServerProcess.StartAsync(Data, settings, line =>
            {
                if (line.TrimStart().StartsWith("Expert link:", StringComparison.Ordinal))
                    link.TrySetResult(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[2]);
            }, environment: environment);
            // The start-up notes are printed once the server has started, which may be just after it answers.
            return (server, await link.Task.WaitAsync(Wait.Guard));
        }

        async Task SignsInAsync(ServerProcess server, string link)
        {
            using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = server.Address };
            var response = await http.GetAsync(new Uri(link).PathAndQuery);
            Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        }

        var (server, link) = await StartAsync();
        try { await SignsInAsync(server, link); }
        finally { await server.DisposeAsync(); } // the whole output is read once the process is gone
        var keyFile = Assert.Single(Directory.GetFiles(Path.Combine(config, "foresight"), "master-*.key"));
        var masterKey = await File.ReadAllTextAsync(keyFile);
        Assert.Contains(keyFile, server.RecentOutput); // the server says where it is
        Assert.DoesNotContain("No XML encryptor configured", server.RecentOutput);
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(OwnerFile, File.GetUnixFileMode(keyFile));
            Assert.Equal(OwnerFolder, File.GetUnixFileMode(Path.GetDirectoryName(keyFile)!));
        }
        var keys = KeyFiles(Data);
        Assert.NotEmpty(keys);
        Assert.All(keys, f => Assert.False(HoldsKeyInTheClear(f)));

        // Again on the same data: the same master key reads the same data-protection keys (no new one is made).
        (server, link) = await StartAsync();
        try { await SignsInAsync(server, link); }
        finally { await server.DisposeAsync(); }
        Assert.Equal(masterKey, await File.ReadAllTextAsync(keyFile));
        Assert.Equal(keys.Order(), KeyFiles(Data).Order());
        Assert.DoesNotContain("Generated the master key", server.RecentOutput);

        // With the generated key gone, the server does not start (it would make a new key ring and lose every link).
        File.Move(keyFile, keyFile + ".away");
        var failure = await Assert.ThrowsAsync<InvalidOperationException>(() => ServerProcess.StartAsync(Data, settings, environment: environment));
        output.WriteLine(failure.Message);
        Assert.Contains(keyFile, failure.Message);
        Assert.Contains("Foresight:MasterKey", failure.Message);
        Assert.False(File.Exists(keyFile), "a new master key was generated");
        Assert.Equal(keys.Order(), KeyFiles(Data).Order());
    }
}
