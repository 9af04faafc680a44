#include "gateway/http/server.h"

#include "gateway/http/listener.h"

namespace nexus::gateway {

Server::Server(const Pipeline& pipeline, ServerOptions options)
    : listener_(std::make_unique<Listener>(pipeline, std::move(options))) {}
Server::~Server() = default;
Result<std::string> Server::Listen() { return listener_->Listen(); }
bool Server::Run() { return listener_->Run(); }
void Server::Stop() { listener_->Stop(); }

}  // namespace nexus::gateway
