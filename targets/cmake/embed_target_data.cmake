# Writes OUTPUT from TEMPLATE with every file of FILES (comma-separated paths relative to ROOT; commas
# because semicolons do not survive a custom command line) as a raw string literal. Run as `cmake -P` at build time so edits to the JSON files regenerate the source.
cmake_minimum_required(VERSION 3.25)

foreach(var ROOT OUTPUT TEMPLATE FILES)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "embed_target_data.cmake: -D${var}=... is required")
  endif()
endforeach()

string(REPLACE "," ";" FILES "${FILES}")
set(delimiter "llmc_json")
set(LLMC_EMBEDDED_ENTRIES "")
foreach(relative_path IN LISTS FILES)
  file(READ "${ROOT}/${relative_path}" content)
  string(FIND "${content}" ")${delimiter}\"" clash)
  if(NOT clash EQUAL -1)
    message(FATAL_ERROR "${ROOT}/${relative_path} contains the raw string delimiter )${delimiter}\"")
  endif()
  string(APPEND LLMC_EMBEDDED_ENTRIES
         "    EmbeddedTargetFile{\"${relative_path}\", R\"${delimiter}(${content})${delimiter}\"},\n")
endforeach()

configure_file("${TEMPLATE}" "${OUTPUT}" @ONLY)
# configure_file keeps the old timestamp when the text is unchanged; the build tool would then rerun
# this script on every build, so mark the output as fresh.
file(TOUCH "${OUTPUT}")
