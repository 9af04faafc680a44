# nexus_add_proto_library(<target> <proto files relative to proto/>...)
# Generates C++ protobuf and gRPC sources at build time and wraps them in a
# static library whose include path exposes "nexus/<pkg>/v1/<name>.grpc.pb.h".
function(nexus_add_proto_library target)
  set(proto_root ${PROJECT_SOURCE_DIR}/proto)
  set(out_dir ${PROJECT_BINARY_DIR}/gen)
  set(srcs)
  foreach(rel ${ARGN})
    get_filename_component(dir ${rel} DIRECTORY)
    get_filename_component(name ${rel} NAME_WE)
    set(base ${out_dir}/${dir}/${name})
    set(outputs ${base}.pb.cc ${base}.pb.h ${base}.grpc.pb.cc ${base}.grpc.pb.h)
    add_custom_command(
      OUTPUT ${outputs}
      COMMAND ${CMAKE_COMMAND} -E make_directory ${out_dir}
      COMMAND protobuf::protoc
        --proto_path=${proto_root}
        --cpp_out=${out_dir}
        --grpc_out=${out_dir}
        --plugin=protoc-gen-grpc=$<TARGET_FILE:gRPC::grpc_cpp_plugin>
        ${proto_root}/${rel}
      DEPENDS ${proto_root}/${rel} protobuf::protoc gRPC::grpc_cpp_plugin
      COMMENT "protoc ${rel}"
      VERBATIM)
    list(APPEND srcs ${base}.pb.cc ${base}.grpc.pb.cc)
  endforeach()
  add_library(${target} STATIC ${srcs})
  target_include_directories(${target} PUBLIC ${out_dir})
  target_link_libraries(${target} PUBLIC protobuf::libprotobuf gRPC::grpc++)
  target_compile_options(${target} PRIVATE -w)
endfunction()
