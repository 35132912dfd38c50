using Xunit;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Foresight.Testing;

/// <summary>The server in-process on a real SQLite file in a fresh directory.</summary>
public sealed class ForesightFactory : WebApplicationFactory<Program>
{
    public const string AdminEmail = "admin@test.local";
    public const string AdminPassword = "admin-password-for-tests";
    /// <summary>
    /// The master key of every test server (in-process and <see cref="ServerProcess"/>), so that none generates one in
    /// the real ~/.config, and a second server on the same data reads the first one's keys.
    /// </summary>
    public const string MasterKey = "ojB3Jae+ZIFybx3YG66roVWvIUttluS1IcKdMqmfK9o=";

    public string Directory { get; } = Path.Combine(Path.GetTempPath(), "foresight-tests", Guid.NewGuid().ToString("n"));
    public string DatabasePath => Path.Combine(Directory, "data", "foresight.db");
    readonly Dictionary<string, string?> _settings = new();
    readonly List<Action<IServiceCollection>> _services = [];

    public ForesightFactory With(string key, string? value)
    {
        _settings[key] = value;
        return this;
    }

    /// <summary>Changes the server's services after its own registrations (e.g. its TimeProvider).</summary>
    public ForesightFactory WithServices(Action<IServiceCollection> configure)
    {
        _services.Add(configure);
        return this;
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("Foresight:Database", DatabasePath);
        builder.UseSetting("urls", "http://127.0.0.1:0");
        builder.UseSetting("Foresight:Admin:Email", AdminEmail);
        builder.UseSetting("Foresight:Admin:Password", AdminPassword);
        builder.UseSetting("Foresight:PublicUrl", "http://foresight.test");
        builder.UseSetting("Foresight:MasterKey", MasterKey);
        builder.UseSetting("Foresight:RateLimits:SignInPerMinute", "1000");
        builder.UseSetting("Foresight:RateLimits:AnswersPerMinute", "100000");
        foreach (var (k, v) in _settings) builder.UseSetting(k, v);
        builder.ConfigureLogging(l => l.AddProvider(new LogCollector(Logged)));
        builder.ConfigureTestServices(s => _services.ForEach(configure => configure(s)));
    }

    /// <summary>What the server logged at Warning or above (as the configured levels let through), oldest first.</summary>
    public System.Collections.Concurrent.ConcurrentQueue<LogEntry> Logged { get; } = new();

    public sealed record LogEntry(LogLevel Level, string Category, string Message, Exception? Exception)
    {
        public override string ToString() => $"{Level} {Category}: {Message}{(Exception is null ? "" : $" ({Exception.GetType().Name}: {Exception.Message})")}";
    }

    sealed class LogCollector(System.Collections.Concurrent.ConcurrentQueue<LogEntry> into) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new Logger(categoryName, into);

        public void Dispose() { }

        sealed class Logger(string category, System.Collections.Concurrent.ConcurrentQueue<LogEntry> into) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                if (IsEnabled(logLevel)) into.Enqueue(new LogEntry(logLevel, category, formatter(state, exception), exception));
            }
        }
    }

    /// <summary>Set when the server runs on real Kestrel (<see cref="StartKestrel"/>).</summary>
    public Uri? KestrelAddress { get; private set; }

    /// <summary>Runs the app on Kestrel at a free port of 127.0.0.1 instead of the in-memory test server.</summary>
    public Uri StartKestrel()
    {
        UseKestrel(0);
        StartServer();
        var addresses = Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>()
            .Features.Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()!.Addresses;
        KestrelAddress = new Uri(addresses.First().Replace("[::1]", "127.0.0.1").Replace("localhost", "127.0.0.1"));
        return KestrelAddress;
    }

    public HttpClient Anonymous() => KestrelAddress is { } address
        ? new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = address }
        : CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = false });

    public HttpClient WithToken(string token)
    {
        var c = Anonymous();
        c.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return c;
    }

    public async Task<HttpClient> SignInAsync(string email, string password)
    {
        var response = await Anonymous().PostAsJsonAsync("/api/auth/signin", new { email, password });
        var body = await Api.OkAsync(response);
        return WithToken(body["token"]!.GetValue<string>());
    }

    public Task<HttpClient> AdminAsync() => SignInAsync(AdminEmail, AdminPassword);

    /// <summary>A new coordinator account, signed in.</summary>
    public async Task<HttpClient> NewCoordinatorAsync(string email = "coordinator@test.local")
    {
        var admin = await AdminAsync();
        await Api.OkAsync(await admin.PostAsJsonAsync("/api/users", new { email, name = "Test coordinator", role = "coordinator",
            password = "coordinator-password" }));
        return await SignInAsync(email, "coordinator-password");
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { System.IO.Directory.Delete(Directory, recursive: true); } catch (IOException) { }
    }
}

/// <summary>Small helpers over HttpClient for JSON APIs.</summary>
public static class Api
{
    public static async Task<JsonNode> OkAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(
            response.IsSuccessStatusCode, $"{(int)response.StatusCode} {response.RequestMessage?.Method} {response.RequestMessage?.RequestUri}: {text}");
        return text.Length == 0 ? new JsonObject() : JsonNode.Parse(text)!;
    }

    /// <summary>Asserts a ProblemDetails answer with the status; returns it.</summary>
    public static async Task<JsonNode> ProblemAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"expected {(int)status}, got {(int)response.StatusCode}: {text}");
        Assert.StartsWith("application/problem+json", response.Content.Headers.ContentType?.ToString());
        var node = JsonNode.Parse(text)!;
        Assert.False(string.IsNullOrWhiteSpace(node["detail"]?.GetValue<string>()), $"problem without detail: {text}");
        return node;
    }

    public static Task<HttpResponseMessage> PostYamlAsync(this HttpClient c, string url, string yaml, string fileName = "survey.yaml") =>
        c.PostAsync($"{url}?file_name={fileName}", new StringContent(yaml, Encoding.UTF8, "application/yaml"));

    public static Task<HttpResponseMessage> PutYamlAsync(this HttpClient c, string url, string yaml) =>
        c.PutAsync(url, new StringContent(yaml, Encoding.UTF8, "application/yaml"));

    public static Task<HttpResponseMessage> PutJsonAsync(this HttpClient c, string url, object body) => c.PutAsJsonAsync(url, body);

    public static async Task<JsonNode> GetOkAsync(this HttpClient c, string url) => await OkAsync(await c.GetAsync(url));

    public static async Task<JsonNode> PostOkAsync(this HttpClient c, string url, object? body = null) =>
        await OkAsync(await c.PostAsJsonAsync(url, body ?? new { }));

    public static async Task<JsonNode> PutOkAsync(this HttpClient c, string url, object body) => await OkAsync(await c.PutAsJsonAsync(url, body));

    public static JsonElement Json(object value) => JsonSerializer.SerializeToElement(value);

    public static string Survey(string name) => File.ReadAllText(Path.Combine("surveys", name));
}
